"""Samplers and the HTTP availability probe against a real local HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zerospof.monitors import LATENESS_KEPT, HttpProbe, ProbeFailed, Sampler, SamplerStats
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


def self_signed(tmp_path, host: str) -> tuple[str, str]:
    """A certificate for ``host`` and its key (PEM files), self-signed."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_http_probe_speaks_https_and_checks_the_certificate_against_the_host_name(server, tmp_path):
    import ssl

    cert, key = self_signed(tmp_path, "app.test")
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(cert, key)
    server.socket = served.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    trusting = ssl.create_default_context(cafile=cert)

    answer = HttpProbe(f"https://app.test:{port}/health", resolve=lambda host: ["127.0.0.1"], ssl_context=trusting)()
    assert answer["status"] == 200 and answer["body"] == {"served_by": "test"}
    with pytest.raises(ssl.SSLCertVerificationError):  # the system trust store does not know this certificate
        HttpProbe(f"https://app.test:{port}/health", resolve=lambda host: ["127.0.0.1"])()
    with pytest.raises(ssl.SSLCertVerificationError):  # the certificate is for app.test, not for other.test
        HttpProbe(f"https://other.test:{port}/health", resolve=lambda host: ["127.0.0.1"], ssl_context=trusting)()


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


def test_sampler_stats_keep_a_bounded_window_of_lateness_and_the_maximum_of_all():
    stats = SamplerStats()
    for tick in range(LATENESS_KEPT + 100):
        stats.record_lateness(0.5 if tick == 3 else 0.001)
    assert len(stats.lateness_s) == LATENESS_KEPT  # a 4 h run at 20 Hz does not keep 288,000 floats
    assert stats.max_lateness_s == 0.5  # the early outlier is out of the window, not out of the maximum
    assert max(stats.lateness_s) == 0.001
