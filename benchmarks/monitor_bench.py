"""Benchmark the HTTP availability monitor against a local server (prints figures; not a test).

Goal: >= 20 Hz sustained with <= 5% of one core. The baseline is a sampler calling a no-op
probe at the same rate in the same process, so the ratio shows what HTTP itself costs.

    .venv/bin/python benchmarks/monitor_bench.py [--seconds 30] [--rate 20]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from zerospof.monitors import HttpProbe, Sampler
from zerospof.timeline import Timeline


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def measure(name: str, probe, rate_hz: float, seconds: float) -> dict[str, float]:
    timeline = Timeline()
    sampler = Sampler(name, probe, timeline, interval_s=1 / rate_hz, max_duration_s=seconds, concurrency=4)
    wall_before = time.monotonic()
    process_before = time.process_time()
    with sampler:
        time.sleep(seconds)
    wall_s = time.monotonic() - wall_before
    process_cpu_s = time.process_time() - process_before
    samples = timeline.samples_of(name)
    lateness_ms = sorted(x * 1000 for x in sampler.stats.lateness_s)
    return {
        "samples": len(samples),
        "ok": sum(s.ok for s in samples),
        "rate_hz": len(samples) / wall_s,
        "jitter_p50_ms": statistics.median(lateness_ms) if lateness_ms else float("nan"),
        "jitter_p99_ms": lateness_ms[int(0.99 * (len(lateness_ms) - 1))] if lateness_ms else float("nan"),
        "cpu_pct_of_core": 100 * process_cpu_s / wall_s,
        "cpu_ms_per_1000": 1000 * 1000 * process_cpu_s / max(len(samples), 1),
        "skipped": sampler.stats.skipped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://bench.local:{server.server_address[1]}/health"
        baseline = measure("noop", lambda: None, args.rate, args.seconds)
        http = measure("http", HttpProbe(url, resolve=lambda host: ["127.0.0.1"]), args.rate, args.seconds)
    finally:
        server.shutdown()
        server.server_close()

    print(f"HTTP availability monitor, {args.rate:g} Hz target, {args.seconds:g} s each "
          "(CPU includes the in-process test server)")
    print(f"{'figure':<18}{'no-op baseline':>16}{'http':>12}{'ratio':>10}")
    for key in ("samples", "ok", "rate_hz", "jitter_p50_ms", "jitter_p99_ms", "cpu_pct_of_core", "cpu_ms_per_1000", "skipped"):
        base, value = baseline[key], http[key]
        ratio = f"{value / base:.2f}" if base else "-"
        print(f"{key:<18}{base:>16.2f}{value:>12.2f}{ratio:>10}")
    verdict = "met" if http["rate_hz"] >= 0.98 * args.rate and http["cpu_pct_of_core"] <= 5 else "MISSED"
    print(f"goal (>= {args.rate:g} Hz sustained with <= 5% of one core): {verdict}")


if __name__ == "__main__":
    main()
