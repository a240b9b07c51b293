"""The lab's synthetic user (``zerospof.lab.client``) against real DNS and HTTP servers on loopback.

DNS answers are built with dnspython (an encoder independent of the client's parser); HTTP is the
lab app's own server (``http_lite.JsonServer``) or a raw socket server for malformed and slow answers.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zerospof.lab import client, topology as t
from zerospof.lab.client import ClientError, DnsServer
from zerospof.lab.http_lite import JsonServer
from zerospof.netns import enter_namespace
from tests.helpers import needs_root, scratch_namespace

Reply = Callable[[bytes], bytes | None]  # a query's wire bytes -> the reply's (None: stay silent)


def answer(*addresses: str, rcode: int = dns.rcode.NOERROR, cname: str | None = None) -> Reply:
    """A real reply: optionally a CNAME to ``cname``, then the A records in this order, then an AAAA."""
    def reply(wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.set_rcode(rcode)
        owner = query.question[0].name
        if cname:
            response.answer.append(dns.rrset.from_text(owner, 1, "IN", "CNAME", cname))
            owner = dns.name.from_text(cname)
        if addresses:  # one RRset each: dnspython keeps an RRset's records in a set, in no fixed order
            response.answer += [dns.rrset.from_text(owner, 1, "IN", "A", address) for address in addresses]
            response.answer.append(dns.rrset.from_text(owner, 1, "IN", "AAAA", "::1"))
        return response.to_wire()
    return reply


class FakeDnsProvider:
    """A UDP DNS server on 127.0.0.1 that answers every query with ``self.reply(query)`` (test-only)."""

    def __init__(self, name: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.server = DnsServer(name, "127.0.0.1", self.sock.getsockname()[1])
        self.reply: Reply = answer("127.0.0.1")
        self.queries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():  # bounded: stopped by close()
            try:
                wire, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            self.queries += 1
            data = self.reply(wire)
            if data is not None:
                self.sock.sendto(data, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[FakeDnsProvider, FakeDnsProvider]]:
    pair = FakeDnsProvider("dns1"), FakeDnsProvider("dns2")
    yield pair
    for provider in pair:
        provider.close()


@pytest.fixture
def dns1(providers) -> FakeDnsProvider:
    for provider in providers:
        provider.reply, provider.queries = answer("127.0.0.1"), 0
    return providers[0]


@pytest.fixture
def dns2(providers, dns1) -> FakeDnsProvider:
    return providers[1]


def servers(*providers: FakeDnsProvider) -> list[DnsServer]:
    return [provider.server for provider in providers]


def serve(handle: Callable[[socket.socket], None], address: str = "127.0.0.1", port: int = 0) -> tuple[int, Callable[[], None]]:
    """A raw TCP server that reads each request, then calls ``handle(connection)``; return (port, stop)."""
    listener = socket.create_server((address, port))
    listener.settimeout(0.05)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():  # bounded: stopped by the returned callable
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                try:
                    connection.recv(65536)
                    handle(connection)
                except OSError:
                    pass  # the client gave up (a timeout test): nothing to do

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join(5)
        listener.close()
    return listener.getsockname()[1], close


@pytest.fixture
def app() -> Iterator[JsonServer]:
    """The lab app's HTTP server on 127.0.0.1; ``app.handler`` can be replaced per test."""
    server = JsonServer(("127.0.0.1", 0), lambda method, target, body: (200, {"zone": "r1-a"}))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_resolve_returns_every_a_record_of_a_real_answer_in_order(dns1):
    dns1.reply = answer("10.77.1.1", "10.77.2.1", "10.77.3.1", cname="lb.zs.test.")
    addresses, server = client.resolve(namespace=None, dns_servers=servers(dns1))
    assert (addresses, server) == (["10.77.1.1", "10.77.2.1", "10.77.3.1"], "dns1")


def test_resolve_asks_the_server_on_every_call(dns1):
    dns1.reply = answer("10.77.1.1")
    first = client.resolve(namespace=None, dns_servers=servers(dns1))
    dns1.reply = answer("10.77.2.1")
    second = client.resolve(namespace=None, dns_servers=servers(dns1))
    assert (first[0], second[0], dns1.queries) == (["10.77.1.1"], ["10.77.2.1"], 2)


@pytest.mark.parametrize("failure", [answer(), answer(rcode=dns.rcode.NXDOMAIN), answer(rcode=dns.rcode.SERVFAIL),
                                     answer("10.0.0.1", rcode=dns.rcode.REFUSED), lambda wire: None,
                                     lambda wire: b"garbage"])
def test_resolve_falls_over_from_the_primary_to_the_backup(dns1, dns2, failure):
    dns1.reply, dns2.reply = failure, answer("10.77.4.1")
    addresses, server = client.resolve(namespace=None, timeout_s=0.2, dns_servers=servers(dns1, dns2))
    assert (addresses, server, dns1.queries, dns2.queries) == (["10.77.4.1"], "dns2", 1, 1)


def test_resolve_names_each_providers_failure_when_none_answers(dns1, dns2):
    dns1.reply, dns2.reply = answer(rcode=dns.rcode.NXDOMAIN), answer(rcode=dns.rcode.SERVFAIL)
    with pytest.raises(ClientError, match=f"cannot resolve {re.escape(t.APP_NAME)}: dns1: NXDOMAIN; dns2: SERVFAIL"):
        client.resolve(t.APP_NAME, namespace=None, dns_servers=servers(dns1, dns2))
    dns1.reply, dns2.reply = answer(), lambda wire: None
    with pytest.raises(ClientError, match="dns1: empty answer; dns2: TimeoutError"):
        client.resolve(namespace=None, timeout_s=0.1, dns_servers=servers(dns1, dns2))


def test_a_silent_provider_costs_the_dns_timeout_then_the_backup_answers(dns1, dns2):
    dns1.reply = lambda wire: None
    started = time.monotonic()
    _, server = client.resolve(namespace=None, timeout_s=0.3, dns_servers=servers(dns1, dns2))
    assert server == "dns2" and 0.3 <= time.monotonic() - started < 0.6


def test_a_reply_to_another_query_is_not_accepted(dns1):
    def wrong_id(wire: bytes) -> bytes:
        reply = answer("10.0.0.1")(wire)
        return bytes([reply[0] ^ 0xFF]) + reply[1:]
    dns1.reply = wrong_id
    with pytest.raises(ClientError, match="dns1: reply does not match the query"):
        client.resolve(namespace=None, dns_servers=servers(dns1))


def test_every_truncation_of_a_real_answer_is_a_client_error(dns1):
    full = answer("10.77.1.1", "10.77.2.1", cname="lb.zs.test.")
    cut = 0
    dns1.reply = lambda wire: full(wire)[:cut]
    query_length = 12 + len(client._question(t.APP_NAME))
    for cut in range(len(full(dns.message.make_query(t.APP_NAME, "A").to_wire()))):
        if cut == query_length:
            continue  # the question alone, no answer count: a valid empty answer, checked elsewhere
        with pytest.raises(ClientError, match="cannot resolve"):
            client.resolve(namespace=None, timeout_s=0.2, dns_servers=servers(dns1))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flags=st.sampled_from([0x8180, 0x8580, 0x8183]) | st.integers(0x8000, 0xFFFF),
       counts=st.tuples(st.integers(0, 2), st.integers(0, 4), st.integers(0, 2), st.integers(0, 2)),
       echo_question=st.booleans(), tail=st.binary(max_size=80))
def test_garbage_after_a_matching_id_is_a_client_error_or_addresses_never_a_crash(dns1, flags, counts, echo_question,
                                                                                 tail):
    def reply(wire: bytes) -> bytes:
        header = wire[:2] + flags.to_bytes(2, "big") + b"".join(count.to_bytes(2, "big") for count in counts)
        return header + (wire[12:] if echo_question else b"") + tail
    dns1.reply = reply
    try:
        addresses, _ = client.resolve(namespace=None, timeout_s=0.2, dns_servers=servers(dns1))
    except ClientError as exc:
        assert str(exc).startswith("cannot resolve")
    else:
        assert all(socket.inet_aton(address) for address in addresses)


def test_request_parses_the_json_answer_and_sends_the_payload_as_json(dns1, app):
    seen = []
    app.handler = lambda method, target, body: seen.append((method, target, json.loads(body))) or (201, {"ok": 1})
    response = client.request("POST", "/write", {"key": "k", "value": "v"}, namespace=None,
                              dns_servers=servers(dns1), port=app.server_address[1])
    assert seen == [("POST", "/write", {"key": "k", "value": "v"})]
    assert (response.status, response.body, response.address, response.dns_server) == (201, {"ok": 1}, "127.0.0.1", "dns1")
    assert response.ok and 0 < response.elapsed_s < 1


def test_request_returns_a_server_error_and_a_text_body_as_they_are(dns1):
    def error_page(connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\n\r\n<h1>503</h1>")
    port, stop = serve(error_page)
    try:
        response = client.request(namespace=None, dns_servers=servers(dns1), port=port)
    finally:
        stop()
    assert (response.status, response.body, response.ok) == (503, "<h1>503</h1>", False)


def test_request_tries_each_resolved_address_in_turn(dns1, app):
    port = app.server_address[1]
    dns1.reply = answer("127.0.0.2", "127.0.0.3", "127.0.0.1")  # nothing listens on .2 (refused); .3 answers garbage
    stop = serve(lambda connection: connection.sendall(b"nonsense\r\n\r\n"), "127.0.0.3", port)[1]
    try:
        response = client.request(namespace=None, dns_servers=servers(dns1), port=port)
        dns1.reply = answer("127.0.0.2", "127.0.0.3")
        with pytest.raises(ClientError, match=r"GET /read failed on every address: 127\.0\.0\.2: ConnectionRefusedError"
                                              r".*; 127\.0\.0\.3: bad status line"):
            client.request(namespace=None, dns_servers=servers(dns1), port=port)
    finally:
        stop()
    assert (response.address, response.body) == ("127.0.0.1", {"zone": "r1-a"})


def test_an_address_that_does_not_accept_costs_the_connect_timeout_then_the_next_answers(dns1, app):
    port = app.server_address[1]
    full = socket.create_server(("127.0.0.2", port), backlog=0)  # never accepts: once its queue is full, SYNs are dropped
    fillers = []
    try:
        for _ in range(8):  # bounded: fill the queue until a connection attempt times out
            filler = socket.socket()
            filler.settimeout(0.2)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.2", port))
            except TimeoutError:
                break
        dns1.reply = answer("127.0.0.2", "127.0.0.1")
        started = time.monotonic()
        response = client.request(namespace=None, connect_timeout_s=0.3, dns_servers=servers(dns1), port=port)
        elapsed_s = time.monotonic() - started
    finally:
        for filler in fillers:
            filler.close()
        full.close()
    assert response.address == "127.0.0.1" and 0.3 <= elapsed_s < 0.7


@pytest.mark.parametrize("answering", [lambda connection: time.sleep(1.0),
                                       lambda connection: [connection.sendall(b"H") or time.sleep(0.05)
                                                           for _ in range(20)]],
                         ids=["silent", "dripping"])
def test_an_answer_not_complete_within_timeout_s_is_a_timeout(dns1, answering):
    port, stop = serve(answering)
    started = time.monotonic()
    try:
        with pytest.raises(ClientError, match="127.0.0.1: TimeoutError"):
            client.request(namespace=None, timeout_s=0.4, dns_servers=servers(dns1), port=port)
    finally:
        elapsed_s = time.monotonic() - started
        stop()
    assert 0.4 <= elapsed_s < 0.8


def test_a_read_without_an_answer_goes_to_the_next_address_after_the_per_try_timeout_a_write_waits(dns1, app):
    """A read in flight to a lost LB node: the client's per-try timeout sends it to the next node, well inside the
    1 s slow limit; a write (not idempotent) keeps the whole timeout on the silent node."""
    port = app.server_address[1]
    stop = serve(lambda connection: time.sleep(1.5), "127.0.0.2", port)[1]  # accepts, never answers
    dns1.reply = answer("127.0.0.2", "127.0.0.1")
    try:
        started = time.monotonic()
        read = client.request(namespace=None, dns_servers=servers(dns1), port=port, read_retry_after_s=0.3)
        read_s = time.monotonic() - started
        started = time.monotonic()
        write = client.request("POST", "/write", {"key": "k"}, namespace=None, dns_servers=servers(dns1), port=port,
                               timeout_s=0.6, read_retry_after_s=0.3)
        write_s = time.monotonic() - started
    finally:
        stop()
    assert read.address == "127.0.0.1" and 0.3 <= read_s < 0.6
    assert write.address == "127.0.0.1" and 0.6 <= write_s < 1.0


def test_an_answer_shorter_than_its_content_length_is_an_error(dns1):
    port, stop = serve(lambda connection: connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n{}"))
    try:
        with pytest.raises(ClientError, match=r"body cut short \(2 of 10 bytes\)"):
            client.request(namespace=None, dns_servers=servers(dns1), port=port)
    finally:
        stop()


@needs_root
def test_request_runs_in_the_namespace_from_any_thread(providers):
    """From the root namespace the call moves into the namespace; a thread already there calls straight through."""
    with scratch_namespace() as namespace:
        subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
        results: dict[str, object] = {}

        def inside() -> None:
            enter_namespace(namespace)
            provider = FakeDnsProvider("ns-dns")  # its socket, and the app's, live in the namespace
            app = JsonServer(("127.0.0.1", 0), lambda method, target, body: (200, {"in": namespace}))
            threading.Thread(target=app.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            where = {"dns_servers": [provider.server], "port": app.server_address[1]}
            results["where"], results["inside"] = where, client.request(namespace=namespace, **where).body
            results["already_in"] = client._in(namespace)
            ready.set()
            done.wait(10)
            app.shutdown()
            app.server_close()
            provider.close()

        ready, done = threading.Event(), threading.Event()
        thread = threading.Thread(target=inside, daemon=True)
        thread.start()
        try:
            assert ready.wait(10)
            assert client.request(namespace=namespace, **results["where"]).body == {"in": namespace}
            assert results["inside"] == {"in": namespace} and results["already_in"] is True
            assert not client._in(namespace)
        finally:
            done.set()
            thread.join(10)
