"""The user's view of the lab: resolve the app name through the lab's DNS, then HTTP to an LB.

Runs in the ``zs-client`` namespace: a thread already there (e.g. a ``Sampler(namespace=...)``
pool thread) calls straight through; any other thread moves there for the call only.
DNS: primary provider first, then the backup, asked on every request (no cache, so a DNS
failover is seen at once). HTTP: each resolved address in turn, with a short connect timeout,
like a browser trying the A records of a name.

Both are hand-written on plain sockets because the synthetic users run at tens of requests per
second through a game day, and dnspython's message objects and ``http.client`` cost about twice
the CPU of the network calls themselves (``benchmarks/monitor_bench.py`` measures it): DNS is one
A query per server on a fresh UDP port, its answer parsed with :mod:`struct`; HTTP is one
HTTP/1.0 exchange per connection (so never a chunked answer), its body delimited by
``Content-Length`` or by the server closing.
"""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zerospof.lab import topology as t
from zerospof.netns import NETNS_DIR, in_namespace

__all__ = ["ClientError", "DnsServer", "LAB_DNS_SERVERS", "Response", "resolve", "request"]

MAX_ANSWER_BYTES = 4 * 1024 * 1024
# An idempotent read without an answer after this long is sent to the next resolved LB node: below the 1 s
# slow-request limit with room for the second try, well above the LB's own read retry towards the apps
# (configs.LB_READ_TRY_MS: the LB answers a read it had to retry before the user gives up on it).
READ_RETRY_AFTER_S = 0.8
_RCODES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
_TYPE_A = _CLASS_IN = 1
_NO_BODY_STATUSES = frozenset({204, 304})


class ClientError(Exception):
    """The app could not be reached (DNS or every address failed); ``str`` says why."""


class _BadAnswer(Exception):
    """One server's answer is unusable (malformed, cut short, an error code); ``str`` says why."""


@dataclass(frozen=True)
class DnsServer:
    """A DNS server the client asks: its name in reports, its address and UDP port."""

    name: str
    address: str
    port: int = 53


LAB_DNS_SERVERS = tuple(DnsServer(place.name, place.address) for place in t.DNS_SERVERS)


@dataclass(frozen=True)
class Response:
    """An HTTP answer from the app: status, parsed JSON body, which LB and DNS server served it."""

    status: int
    body: Any
    address: str
    dns_server: str
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, _BadAnswer) else f"{type(exc).__name__}: {exc}"


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _question(name: str) -> bytes:
    labels = name.rstrip(".").encode("ascii").split(b".")
    if not all(0 < len(label) <= 63 for label in labels):
        raise ClientError(f"cannot resolve {name!r}: not a DNS name")
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\0" + struct.pack("!HH", _TYPE_A, _CLASS_IN)


def _skip_name(packet: bytes, offset: int) -> int:
    """Return the offset just past the (possibly compressed) name at ``offset``."""
    while offset < len(packet):  # bounded: every pass moves forward
        length = packet[offset]
        if length >= 0xC0:
            return offset + 2
        if length > 63:
            raise _BadAnswer(f"bad label length {length}")
        offset += length + 1
        if length == 0:
            return offset
    raise _BadAnswer("cut short in a name")


def _a_records(reply: bytes, ident: int, question: bytes) -> list[str]:
    """The IPv4 addresses in ``reply``'s answer section (CNAMEs and other types skipped)."""
    try:
        reply_id, flags, qdcount, ancount = struct.unpack_from("!HHHH", reply)
        if reply_id != ident or not flags & 0x8000:
            raise _BadAnswer("reply does not match the query")
        if flags & 0xF:
            raise _BadAnswer(_RCODES.get(flags & 0xF, f"rcode {flags & 0xF}"))
        if qdcount != 1 or reply[12:12 + len(question)].lower() != question.lower():
            raise _BadAnswer("reply is for another question")
        offset = 12 + len(question)
        addresses = []
        for _ in range(ancount):
            offset = _skip_name(reply, offset)
            rtype, rclass, _ttl, length = struct.unpack_from("!HHIH", reply, offset)
            offset += 10 + length
            if offset > len(reply):
                raise _BadAnswer("cut short in a record")
            if rtype == _TYPE_A and rclass == _CLASS_IN and length == 4:
                addresses.append(socket.inet_ntoa(reply[offset - 4:offset]))
        return addresses
    except struct.error as exc:
        raise _BadAnswer("cut short") from exc


def _ask(server: DnsServer, question: bytes, timeout_s: float) -> list[str]:
    """One UDP query to ``server`` (like ``dns.query.udp``: a fresh port, one reply awaited for ``timeout_s``)."""
    ident = random.getrandbits(16)
    with socket.socket(_family(server.address), socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.sendto(struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question, (server.address, server.port))
        reply, source = sock.recvfrom(65535)
    if source[:2] != (server.address, server.port):
        raise _BadAnswer(f"reply from {source[0]}:{source[1]}")
    return _a_records(reply, ident, question)


def _resolve_here(name: str, timeout_s: float, dns_servers: Sequence[DnsServer]) -> tuple[list[str], str]:
    question = _question(name)
    errors = []
    for server in dns_servers:
        try:
            addresses = _ask(server, question, timeout_s)
        except (_BadAnswer, OSError) as exc:
            errors.append(f"{server.name}: {_reason(exc)}")
            continue
        if addresses:
            return addresses, server.name
        errors.append(f"{server.name}: empty answer")
    raise ClientError(f"cannot resolve {name}: {'; '.join(errors)}")


def _in(namespace: str) -> bool:
    """Whether the calling thread already is in network namespace ``namespace``."""
    here = os.stat("/proc/thread-self/ns/net")
    there = os.stat(os.path.join(NETNS_DIR, namespace))
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def resolve(name: str = t.APP_NAME, namespace: str | None = t.CLIENT.namespace, timeout_s: float = 0.5, *,
            dns_servers: Sequence[DnsServer] = LAB_DNS_SERVERS) -> tuple[list[str], str]:
    """Return (addresses, DNS server name) for ``name``, asking the primary provider then the backup.

    Each server gets one query and ``timeout_s`` seconds; an error code (NXDOMAIN, SERVFAIL ...),
    an empty or malformed answer moves on to the next. ClientError when none gave an address.
    """
    if namespace is None or _in(namespace):
        return _resolve_here(name, timeout_s, dns_servers)
    with in_namespace(namespace):
        return _resolve_here(name, timeout_s, dns_servers)


def _read_answer(sock: socket.socket, deadline: float) -> tuple[int, bytes]:
    """Read one HTTP answer until its Content-Length is in or the server closes; return (status, body)."""
    raw = b""
    head_end = length = -1
    while True:  # bounded by the deadline and MAX_ANSWER_BYTES
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete answer in time")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        raw += chunk
        if len(raw) > MAX_ANSWER_BYTES:
            raise _BadAnswer(f"answer larger than {MAX_ANSWER_BYTES} bytes")
        if head_end < 0 and (head_end := raw.find(b"\r\n\r\n")) >= 0:
            status, length = _status_and_length(raw[:head_end])
        if head_end >= 0 and (not chunk or 0 <= length <= len(raw) - head_end - 4):
            break
        if not chunk:
            raise _BadAnswer(f"answer cut short ({len(raw)} bytes)")
    body = raw[head_end + 4:]
    if length >= 0:
        if len(body) < length:
            raise _BadAnswer(f"body cut short ({len(body)} of {length} bytes)")
        body = body[:length]
    return status, body


def _status_and_length(head: bytes) -> tuple[int, int]:
    """(status, Content-Length or -1 when the body runs to the close) of an answer's head."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise _BadAnswer(f"bad status line {lines[0][:100]!r}")
    status = int(parts[1])
    if status in _NO_BODY_STATUSES:
        return status, 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            if not value.strip().isdigit():
                raise _BadAnswer(f"bad Content-Length {value.strip()[:30]!r}")
            return status, int(value)
    return status, -1


def _http(address: str, port: int, message: bytes, connect_timeout_s: float, timeout_s: float) -> tuple[int, bytes]:
    """Send ``message`` on a new connection (connect within ``connect_timeout_s``), answer within ``timeout_s``."""
    with socket.socket(_family(address), socket.SOCK_STREAM) as sock:
        sock.settimeout(connect_timeout_s)
        sock.connect((address, port))
        deadline = time.monotonic() + timeout_s
        sock.settimeout(timeout_s)
        sock.sendall(message)
        return _read_answer(sock, deadline)


def _request_here(method: str, path: str, body: bytes | None, port: int, connect_timeout_s: float,
                  timeout_s: float, dns_timeout_s: float, dns_servers: Sequence[DnsServer],
                  started: float, retry_after_s: float | None) -> Response:
    addresses, server = _resolve_here(t.APP_NAME, dns_timeout_s, dns_servers)
    head = f"{method} {path} HTTP/1.0\r\nHost: {t.APP_NAME}\r\nConnection: close\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    message = (head + "\r\n").encode("latin-1") + (body or b"")
    errors = []
    for index, address in enumerate(addresses):
        last = index == len(addresses) - 1
        answer_s = timeout_s if last or retry_after_s is None else min(timeout_s, retry_after_s)
        try:
            status, data = _http(address, port, message, connect_timeout_s, answer_s)
        except (OSError, _BadAnswer) as exc:
            errors.append(f"{address}: {_reason(exc)}")
            continue
        try:
            parsed: Any = json.loads(data)
        except ValueError:
            parsed = data.decode(errors="replace")
        return Response(status, parsed, address, server, time.monotonic() - started)
    raise ClientError(f"{method} {path} failed on every address: {'; '.join(errors)}")


def request(method: str = "GET", path: str = "/read", payload: Any = None, *,
            namespace: str | None = t.CLIENT.namespace, connect_timeout_s: float = 0.3,
            timeout_s: float = 3.0, dns_timeout_s: float = 0.5,
            dns_servers: Sequence[DnsServer] = LAB_DNS_SERVERS, port: int = t.LB_PORT,
            read_retry_after_s: float | None = READ_RETRY_AFTER_S) -> Response:
    """Resolve the app, send one request, return the first HTTP answer; ClientError if none.

    Each resolved address gets ``connect_timeout_s`` to accept the connection and then
    ``timeout_s`` for the whole answer, except that an idempotent request (GET, HEAD) waits at most
    ``read_retry_after_s`` on every address but the last (a client's per-try timeout: a read in flight to
    an LB node that was just lost is sent again to the next one instead of hanging; writes are not
    idempotent and keep ``timeout_s``). Connection failures (and malformed or missing answers) move on to the next resolved
    address; an HTTP answer (even 5xx) is returned as is, the caller decides what counts as a failure.
    ``body`` is the parsed JSON, or the text when it is not JSON.
    """
    started = time.monotonic()
    body = None if payload is None else json.dumps(payload).encode()
    retry_after_s = read_retry_after_s if method in ("GET", "HEAD") else None
    arguments = (method, path, body, port, connect_timeout_s, timeout_s, dns_timeout_s, dns_servers, started,
                 retry_after_s)
    if namespace is None or _in(namespace):
        return _request_here(*arguments)
    with in_namespace(namespace):
        return _request_here(*arguments)
