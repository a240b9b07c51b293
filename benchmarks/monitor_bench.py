"""Benchmark the lab's synthetic users (reads and writes through DNS + HTTP): CPU per request, rate, jitter.

Goal (issue 9): <= 0.5 ms of CPU per request including DNS and HTTP, so reads and writes at 50 Hz
each fit in 5% of one core. One run measures three rounds in the same process, each with a read
user (GET /read) and a write user (POST /write, JSON body) ticking at the same rate in
``Sampler``s as the lab runs them:

- ``no-op``: the samplers calling a probe that does nothing (what sampling itself costs);
- ``baseline``: ``baseline_request`` below, a verbatim copy of ``zerospof.lab.client.request``
  as it was before it was made cheap (dnspython + ``http.client``);
- ``new``: today's ``zerospof.lab.client.request``.

No lab needed: a child process serves DNS (one A record, built with dnspython) on UDP and the
lab app's own HTTP server (``http_lite.JsonServer``) on TCP, both on 127.0.0.1, and the client
is pointed at them with its ``dns_servers`` and ``port`` parameters. The servers live in a child
process so that this process's CPU time is the client's alone. Exit 0 when the goal is met, 1 if not.

    .venv/bin/python benchmarks/monitor_bench.py [--seconds 15] [--rate 50]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import multiprocessing
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dns.exception  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402

from zerospof.lab import client  # noqa: E402
from zerospof.lab import topology as t  # noqa: E402
from zerospof.lab.client import ClientError, DnsServer, Response  # noqa: E402
from zerospof.lab.driver import USER_CONCURRENCY  # noqa: E402
from zerospof.lab.http_lite import JsonServer  # noqa: E402
from zerospof.monitors import ProbeFailed, Sampler  # noqa: E402
from zerospof.netns import in_namespace  # noqa: E402
from zerospof.timeline import Timeline  # noqa: E402

GOAL_CPU_MS_PER_REQUEST = 0.5
GOAL_RATE_HZ = 50.0
GOAL_PCT_OF_CORE = 5.0
PATHS = ("reads", "writes")


# --- baseline: zerospof/lab/client.py's request() before it was made cheap (commit a87d591), verbatim
# except for two parameters, ``dns_servers`` and ``port``, so that it can be pointed at loopback.

def _baseline_resolve_here(name: str, timeout_s: float, dns_servers: Sequence[DnsServer]) -> tuple[list[str], str]:
    errors = []
    for server in dns_servers:
        try:
            answer = dns.query.udp(dns.message.make_query(name, dns.rdatatype.A), server.address, timeout=timeout_s,
                                   port=server.port)
        except (dns.exception.DNSException, OSError) as exc:
            errors.append(f"{server.name}: {type(exc).__name__}")
            continue
        addresses = [item.address for rrset in answer.answer for item in rrset if hasattr(item, "address")]
        if addresses:
            return addresses, server.name
        errors.append(f"{server.name}: empty answer")
    raise ClientError(f"cannot resolve {name}: {'; '.join(errors)}")


def _baseline_http(address: str, port: int, method: str, path: str, body: bytes | None, connect_timeout_s: float,
                   timeout_s: float) -> tuple[int, bytes]:
    sock = socket.create_connection((address, port), timeout=connect_timeout_s)
    sock.settimeout(timeout_s)
    connection = http.client.HTTPConnection(address, port, timeout=timeout_s)
    connection.sock = sock
    try:
        headers = {"Host": t.APP_NAME, "Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def baseline_request(method: str = "GET", path: str = "/read", payload: Any = None, *,
                     namespace: str | None = t.CLIENT.namespace, connect_timeout_s: float = 0.3,
                     timeout_s: float = 3.0, dns_timeout_s: float = 0.5,
                     dns_servers: Sequence[DnsServer] = client.LAB_DNS_SERVERS, port: int = t.LB_PORT) -> Response:
    """The previous ``client.request`` (dnspython + http.client), kept here as the benchmark's baseline."""
    started = time.monotonic()
    body = None if payload is None else json.dumps(payload).encode()
    with in_namespace(namespace):
        addresses, server = _baseline_resolve_here(t.APP_NAME, dns_timeout_s, dns_servers)
        errors = []
        for address in addresses:
            try:
                status, data = _baseline_http(address, port, method, path, body, connect_timeout_s, timeout_s)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{address}: {type(exc).__name__}: {exc}")
                continue
            try:
                parsed: Any = json.loads(data)
            except ValueError:
                parsed = data.decode(errors="replace")
            return Response(status, parsed, address, server, time.monotonic() - started)
    raise ClientError(f"{method} {path} failed on every address: {'; '.join(errors)}")


# --- the loopback lab: DNS and the app, in a child process

def _answer_dns(sock: socket.socket, until_mono: float) -> None:
    while time.monotonic() < until_mono:
        try:
            data, peer = sock.recvfrom(4096)
            query = dns.message.from_wire(data)
        except (TimeoutError, dns.exception.DNSException):
            continue
        reply = dns.message.make_response(query)
        reply.answer.append(dns.rrset.from_text(query.question[0].name, 1, "IN", "A", "127.0.0.1"))
        sock.sendto(reply.to_wire(), peer)


def _app(method: str, target: str, body: bytes) -> tuple[int, Any]:
    if method == "GET" and target == "/read":
        return 200, {"zone": "bench"}
    if method == "POST" and target == "/write":
        return 200, {"zone": "bench", "written": json.loads(body)["key"]}
    return 404, {"error": f"no {method} {target}"}


def serve_loopback_lab(ports: Any, lifetime_s: float) -> None:
    """Serve DNS (UDP) and the app (HTTP) on 127.0.0.1 for at most ``lifetime_s``; send their ports to ``ports``."""
    dns_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns_socket.bind(("127.0.0.1", 0))
    dns_socket.settimeout(0.2)
    app = JsonServer(("127.0.0.1", 0), _app, name="bench-app")
    threading.Thread(target=app.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    ports.send((dns_socket.getsockname()[1], app.server_address[1]))
    _answer_dns(dns_socket, time.monotonic() + lifetime_s)


# --- measuring

class CpuMeter:
    """Wrap a probe and add up the CPU time its calls spend on their own threads (``time.thread_time``)."""

    def __init__(self, probe: Callable[[], Any]) -> None:
        self.probe = probe
        self.cpu_s = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        before = time.thread_time()
        try:
            return self.probe()
        finally:
            spent = time.thread_time() - before
            with self._lock:
                self.cpu_s += spent


def users(request: Callable[..., Response], **where: Any) -> dict[str, Callable[[], Any]]:
    """A read user and a write user calling ``request``; each raises unless the answer is a 2xx."""
    sequence = itertools.count()

    def checked(response: Response) -> int:
        if not response.ok:
            raise ProbeFailed(f"HTTP {response.status} from {response.address}")
        return response.status

    def write() -> int:
        seq = next(sequence)
        return checked(request("POST", "/write", {"key": f"bench:{seq}", "value": str(seq)}, **where))

    return {"reads": lambda: checked(request("GET", "/read", **where)), "writes": write}


def measure(probes: dict[str, Callable[[], Any]], rate_hz: float, seconds: float) -> dict[str, dict[str, float]]:
    """Run one sampler per path at ``rate_hz`` for ``seconds``; figures per path and for the process."""
    timeline = Timeline()
    meters = {path: CpuMeter(probe) for path, probe in probes.items()}
    samplers = [Sampler(path, meter, timeline, interval_s=1 / rate_hz, max_duration_s=seconds,
                        concurrency=USER_CONCURRENCY) for path, meter in meters.items()]
    wall_before, cpu_before = time.monotonic(), time.process_time()
    for sampler in samplers:
        sampler.start()
    time.sleep(seconds)
    for sampler in samplers:
        sampler.stop()
    wall_s, cpu_s = time.monotonic() - wall_before, time.process_time() - cpu_before
    figures: dict[str, dict[str, float]] = {}
    for sampler in samplers:
        samples = timeline.samples_of(sampler.name)
        lateness_ms = sorted(x * 1000 for x in sampler.stats.lateness_s)
        figures[sampler.name] = {
            "samples": len(samples),
            "failed": sum(not s.ok for s in samples),
            "skipped_ticks": sampler.stats.skipped,
            "rate_hz": len(samples) / wall_s,
            "jitter_p50_ms": statistics.median(lateness_ms) if lateness_ms else float("nan"),
            "jitter_p99_ms": lateness_ms[int(0.99 * (len(lateness_ms) - 1))] if lateness_ms else float("nan"),
            "probe_cpu_ms_per_sample": 1000 * meters[sampler.name].cpu_s / max(len(samples), 1),
        }
    total = sum(path["samples"] for path in figures.values())
    figures["process"] = {"cpu_ms_per_sample": 1000 * cpu_s / max(total, 1), "cpu_pct_of_core": 100 * cpu_s / wall_s}
    if errors := [s.error for s in timeline.samples if not s.ok][:3]:
        print(f"  first failures: {errors}")
    return figures


def _ratio(new: float, base: float) -> str:
    return f"{new / base:.2f}" if base else "-"


def report(rounds: dict[str, dict[str, dict[str, float]]], rate_hz: float, seconds: float) -> bool:
    """Print the figures of every round with new/baseline ratios; return whether the goal is met."""
    print(f"lab users, reads (GET /read) and writes (POST /write, JSON body) at {rate_hz:g} Hz each, {seconds:g} s "
          f"per round; CPU is this process's alone (the loopback DNS and app run in a child process)")
    print(f"{'path':<9}{'figure':<26}{'no-op':>10}{'baseline':>10}{'new':>10}{'new/baseline':>14}")
    for path in (*PATHS, "process"):
        for key in rounds["new"][path]:
            noop, base, new = (rounds[name][path][key] for name in ("no-op", "baseline", "new"))
            print(f"{path:<9}{key:<26}{noop:>10.3f}{base:>10.3f}{new:>10.3f}{_ratio(new, base):>14}")
    new = rounds["new"]
    per_request_ms = max(new[path]["probe_cpu_ms_per_sample"] for path in PATHS)
    all_served = all(rounds[name][path]["failed"] == 0 for name in ("baseline", "new") for path in PATHS)
    rate_kept = all(new[path]["rate_hz"] >= 0.98 * rate_hz for path in PATHS)
    met = (per_request_ms <= GOAL_CPU_MS_PER_REQUEST and new["process"]["cpu_pct_of_core"] <= GOAL_PCT_OF_CORE
           and rate_kept and all_served and rate_hz >= GOAL_RATE_HZ)
    print(f"goal: <= {GOAL_CPU_MS_PER_REQUEST} ms CPU per request (new, worst path: {per_request_ms:.3f} ms); "
          f"reads + writes at >= {GOAL_RATE_HZ:g} Hz each within {GOAL_PCT_OF_CORE:g}% of one core "
          f"(new: {new['process']['cpu_pct_of_core']:.2f}% at {rate_hz:g} Hz, rate kept: {rate_kept}, "
          f"every request served: {all_served}): {'met' if met else 'MISSED'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each of the three rounds")
    parser.add_argument("--rate", type=float, default=GOAL_RATE_HZ, help="requests per second per path")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    lab = context.Process(target=serve_loopback_lab, args=(sender, 3 * args.seconds + 30), daemon=True)
    lab.start()
    try:
        if not receiver.poll(20):
            raise SystemExit("the loopback DNS and app did not start within 20 s")
        dns_port, app_port = receiver.recv()
        where = {"namespace": None, "dns_servers": [DnsServer("dns1", "127.0.0.1", dns_port)], "port": app_port}
        implementations = {"baseline": users(baseline_request, **where), "new": users(client.request, **where)}
        for probes in implementations.values():  # warm up: first-call imports and caches out of the rounds
            for probe in probes.values():
                for _ in range(20):
                    probe()
        rounds = {"no-op": measure({path: (lambda: None) for path in PATHS}, args.rate, args.seconds)}
        for name, probes in implementations.items():
            rounds[name] = measure(probes, args.rate, args.seconds)
    finally:
        lab.terminate()
        lab.join(5)
    return 0 if report(rounds, args.rate, args.seconds) else 1


if __name__ == "__main__":
    sys.exit(main())
