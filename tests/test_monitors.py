"""Samplers and the HTTP availability probe against a real local HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zerospof.monitors import HttpProbe, ProbeFailed, Sampler
from zerospof.timeline import Timeline
from tests.helpers import needs_root, scratch_namespace


class Handler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b'{"served_by": "test"}'
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(server: ThreadingHTTPServer) -> str:
    return f"http://app.test:{server.server_address[1]}/health"


def test_http_probe_resolves_the_host_on_every_call(server):
    lookups: list[str] = []
    probe = HttpProbe(url(server), resolve=lambda host: lookups.append(host) or ["127.0.0.1"])
    first, second = probe(), probe()
    assert lookups == ["app.test", "app.test"]
    assert first["status"] == 200 and first["body"] == {"served_by": "test"}
    assert second["latency_s"] > 0


def test_http_probe_raises_on_server_errors_and_refused_connections(server):
    server.status = 503
    with pytest.raises(ProbeFailed, match="503"):
        HttpProbe(url(server), resolve=lambda host: ["127.0.0.1"])()
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with pytest.raises(ConnectionRefusedError):
        HttpProbe(f"http://app.test:{port}/", resolve=lambda host: ["127.0.0.1"])()


def test_sampler_records_failures_as_failed_samples_and_stops_by_itself():
    timeline = Timeline()
    calls = iter(range(1000))

    def flaky() -> int:
        number = next(calls)
        if number % 2:
            raise ProbeFailed(f"odd call {number}")
        return number

    sampler = Sampler("flaky", flaky, timeline, interval_s=0.01, max_duration_s=0.3).start()
    deadline = time.monotonic() + 5
    while sampler.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not sampler.running
    samples = timeline.samples_of("flaky")
    assert samples, "the sampler never called the probe"
    assert {s.ok for s in samples} == {True, False}
    assert all(s.error.startswith("ProbeFailed: odd call") for s in samples if not s.ok)
    assert samples[-1].t_mono - samples[0].t_mono <= 0.3


def test_a_slow_probe_skips_ticks_instead_of_drifting():
    timeline = Timeline()
    interval_s = 0.05

    def slow() -> None:
        time.sleep(interval_s * 2.5)

    sampler = Sampler("slow", slow, timeline, interval_s=interval_s, max_duration_s=1.0)
    with sampler:
        time.sleep(0.8)
    starts = [s.t_mono for s in timeline.samples_of("slow")]
    assert sampler.stats.skipped > 0
    first = starts[0]
    for start in starts:  # every call starts on the schedule's grid, not "after the previous one"
        offset = ((start - first) / interval_s) % 1
        assert min(offset, 1 - offset) < 0.4


def test_concurrent_sampler_keeps_the_rate_while_calls_hang():
    timeline = Timeline()
    sampler = Sampler("hang", lambda: time.sleep(0.3), timeline, interval_s=0.05, max_duration_s=0.6, concurrency=8)
    with sampler:
        time.sleep(0.7)
    assert sampler.stats.calls >= 8  # one thread would have managed two


@needs_root
def test_sampler_in_a_namespace_sees_that_namespace_network(server):
    timeline = Timeline()
    probe = HttpProbe(url(server), resolve=lambda host: ["127.0.0.1"])
    with scratch_namespace() as name:  # its loopback is down: nothing answers there
        with Sampler("isolated", probe, timeline, interval_s=0.05, max_duration_s=0.3, namespace=name) as sampler:
            time.sleep(0.35)
    with Sampler("host", probe, timeline, interval_s=0.05, max_duration_s=0.3):
        time.sleep(0.35)
    assert sampler.stats.calls > 0
    assert not any(s.ok for s in timeline.samples_of("isolated"))
    assert all(s.ok for s in timeline.samples_of("host"))
