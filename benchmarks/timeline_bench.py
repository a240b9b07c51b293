"""Benchmark a long run's timeline: memory stays flat with run length, measurements stay the same.

Goal (issue 10, item 6): a run of hours (FIS's cross-region scenario: 3 h) neither grows memory
with every sample nor loses what it saw. Two parts, each compared with the same samples kept in
memory as one list of ``Sample`` objects (``ListTimeline``: the timeline as it was before streaming):

- ``synthetic``: ``--minutes`` (default 60) of 5 probes at 100 Hz on a simulated clock (1 h:
  1.8 M samples), recorded through ``Timeline.record`` into a streamed timeline as fast as
  possible, with a fault in the middle (users fail for 30 s, a signal detects it, the write
  canary loses two writes, a GitOps commit is served late). RSS is read 100 times over the run.
  Then ``measure_scenario`` on the live streamed timeline, on the file read back, and on the
  in-memory list: all three must be equal. The in-memory list's RSS growth is the baseline.
- ``real``: ``--real-seconds`` (default 60) of 5 ``Sampler``s at 100 Hz each calling a loopback HTTP
  server (a child process, so this process's RSS is the client's alone) that answers 503 for a
  while (the "fault"); RSS every second; the same three-way comparison of measurements.

Flat: RSS after warm-up (the first 10 % of samples) grows by less than ``--flat-mib`` (default 16)
by the end. Exit 0 when both parts are flat and every comparison is equal, 1 if not.

    .venv/bin/python benchmarks/timeline_bench.py [--minutes 60] [--real-seconds 20]
"""

from __future__ import annotations

import argparse
import gc
import http.client
import http.server
import multiprocessing
import pickle
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_timeline_stream import ListTimeline  # noqa: E402
from zerospof.monitors import LATENESS_KEPT, ProbeFailed, Sampler  # noqa: E402
from zerospof.scenario import AVAILABILITY, SERVED_REVISION, WRITE_CANARY, WRITES, measure_scenario  # noqa: E402
from zerospof.timeline import CHUNK_SAMPLES, Event, EventKind, Sample, Timeline  # noqa: E402

RATE_HZ = 100
SIGNAL = "signal:lb"
PROBES = (AVAILABILITY, WRITES, SIGNAL, WRITE_CANARY, SERVED_REVISION)
MiB = 2**20


def rss_b() -> tuple[int, int]:
    """This process's resident set size now and at its peak (bytes), from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def measure(timeline: Any) -> dict:
    return measure_scenario(timeline, [SIGNAL], sustained_s=5.0, data_loss=True, slow_s=1.0, rpo_probe=WRITE_CANARY)


def flat(readings: list[tuple[int, int]], limit_mib: float) -> tuple[bool, float]:
    """Whether RSS grew by less than ``limit_mib`` after warm-up; the growth (MiB).

    Warm-up: the first 10 % of samples, and at least until every probe's in-memory tail
    (``CHUNK_SAMPLES``) has filled once.
    """
    warm_count = max(readings[-1][0] // 10, int(1.1 * CHUNK_SAMPLES * len(PROBES)))
    after = [rss for count, rss in readings if count >= warm_count]
    if len(after) < 2:
        raise SystemExit(f"too short to judge: fewer than two RSS readings after {warm_count} samples")
    growth_mib = (max(after) - after[0]) / MiB
    return growth_mib < limit_mib, growth_mib


class TeeTimeline(Timeline):
    """A streamed timeline that also pickles every ``Sample`` it is given to a side file, apart from the
    timeline's own storage: the same samples, loaded into one list afterwards (not during the run, whose
    RSS is measured)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path=path)
        self._side = path.with_suffix(".pickles").open("wb")
        self._side_lock = threading.Lock()
        self.count = 0

    def add_sample(self, sample: Sample) -> None:
        with self._side_lock:
            pickle.dump(sample, self._side)
            self.count += 1
        super().add_sample(sample)

    def kept(self) -> list[Sample]:
        with self._side_lock:
            self._side.close()
        found = []
        with open(self._side.name, "rb") as side:
            while True:
                try:
                    found.append(pickle.load(side))
                except EOFError:
                    return found


# -- synthetic: an hour on a simulated clock ---------------------------------------------------------
def synthetic_samples(seconds: float) -> Iterator[Sample]:
    """5 probes at 100 Hz for ``seconds``, in tick order; users fail 30 s into the fault at seconds/3."""
    fault_s, down_s = seconds / 3, 30.0
    revision_from_s = seconds / 2 + 12.0  # the GitOps commit at seconds/2 is served 12 s later
    ticks = int(seconds * RATE_HZ)
    seq = 0
    for tick in range(ticks):
        t = 1000.0 + tick / RATE_HZ
        offset = t - 1000.0
        down = fault_s <= offset < fault_s + down_s
        latency = 0.002 + 0.001 * (tick % 7)
        for probe in (AVAILABILITY, WRITES):
            if down:
                yield Sample(probe, t, t + 1e9, False, None, "ProbeFailed: HTTP 503 from 10.0.1.1:8080", latency)
            else:
                yield Sample(probe, t, t + 1e9, True, {"status": 200, "zone": f"zone-{tick % 3}",
                                                       "lb": f"10.0.{tick % 2}.1:8080", "dns": "10.0.0.53",
                                                       "latency_s": round(latency, 4)}, None, latency)
        yield Sample(SIGNAL, t, t + 1e9, True, {"detected": fault_s + 2.0 <= offset < fault_s + down_s + 5.0,
                                                  "unhealthy_targets": 1 if down else 0}, None, 0.001)
        if down and offset < fault_s + 1.0:
            yield Sample(WRITE_CANARY, t, t + 1e9, False, None, "timeout", 1.0)
        else:
            seq += 1
            yield Sample(WRITE_CANARY, t, t + 1e9, True, {"seq": seq, "acked_mono": t + 0.003}, None, 0.003)
        revision = "r2" if offset >= revision_from_s else "r1"
        yield Sample(SERVED_REVISION, t, t + 1e9, True, {"revision": revision}, None, 0.001)


def synthetic_events(seconds: float) -> list[Event]:
    fault_s = 1000.0 + seconds / 3
    last_before_t0 = int(seconds / 3 * RATE_HZ)  # the canary's seq acknowledged at the last tick before t0
    present = [s for s in range(1, int(seconds * RATE_HZ)) if s not in (last_before_t0 - 1, last_before_t0)]
    return [Event(EventKind.FAULT_INJECTING, fault_s - 0.5, 0.0, "bench"),
            Event(EventKind.FAULT_VERIFIED, fault_s, 0.0, "bench"),
            Event(EventKind.FAULT_REVERTING, fault_s + 120.0, 0.0, "bench"),
            Event(EventKind.FAULT_REVERTED, fault_s + 121.0, 0.0, "bench"),
            Event(EventKind.CANARY_COMMIT, 1000.0 + seconds / 2, 0.0, "bench", {"revision": "r2"}),
            Event(EventKind.CANARY_READBACK, 1000.0 + seconds - 1.0, 0.0, "bench",
                  {"probe": WRITE_CANARY, "present_seqs": present})]


def synthetic(minutes: float, folder: Path, limit_mib: float) -> bool:
    seconds = minutes * 60
    total = int(seconds * RATE_HZ) * len(PROBES)
    print(f"synthetic: {minutes:g} min of {len(PROBES)} probes at {RATE_HZ} Hz = {total:,} samples")
    gc.collect()
    start_rss, _ = rss_b()
    streamed = Timeline(path=folder / "synthetic.jsonl")
    readings = [(0, start_rss)]
    every = max(1000, total // 100)  # RSS readings: 100 over the run
    began = time.perf_counter()
    for count, sample in enumerate(synthetic_samples(seconds), start=1):
        streamed.record(sample.probe, sample.ok, sample.value, sample.error, sample.t_mono, sample.latency_s)
        if count % every == 0 or count == total:
            readings.append((count, rss_b()[0]))
    elapsed_s = time.perf_counter() - began
    events = synthetic_events(seconds)
    for event in events:
        streamed.event(event.kind, event.source, event.t_mono, event.t_wall, **event.data)
    streamed.close()
    print(f"  recorded in {elapsed_s:.1f}s ({total / elapsed_s:,.0f} samples/s); file "
          f"{streamed.path.stat().st_size / MiB:.0f} MiB")
    print("  samples      RSS MiB")
    step = max(1, len(readings) // 10)
    for count, rss in readings[::step] + ([readings[-1]] if (len(readings) - 1) % step else []):
        print(f"  {count:>9,}  {rss / MiB:8.1f}")
    is_flat, growth_mib = flat(readings, limit_mib)
    streamed_per_sample_b = max(0, readings[-1][1] - start_rss) / total
    print(f"  RSS growth after warm-up: {growth_mib:.1f} MiB ({'flat' if is_flat else 'NOT flat'}, limit "
          f"{limit_mib:g}); {streamed_per_sample_b:.2f} B per sample from the start")
    print(f"  then {len(events)} events (the canary read-back lists "
          f"{len(events[-1].data['present_seqs']):,} present seqs): RSS {rss_b()[0] / MiB:.1f} MiB")
    del events

    began = time.perf_counter()
    live = measure(streamed)
    live_s = time.perf_counter() - began
    _, peak_before_b = rss_b()
    began = time.perf_counter()
    read_back = measure(Timeline.read_jsonl(streamed.path))
    read_s = time.perf_counter() - began
    print(f"  measure_scenario: {live_s:.1f}s on the streamed timeline (peak RSS so far {peak_before_b / MiB:.0f} MiB: "
          f"one probe's samples at a time), {read_s:.1f}s reading the file back and measuring")

    gc.collect()
    before_list_b, _ = rss_b()
    began = time.perf_counter()
    in_memory = ListTimeline(synthetic_samples(seconds), synthetic_events(seconds))
    list_b = rss_b()[0] - before_list_b
    expected = measure(in_memory)
    memory_s = time.perf_counter() - began
    print(f"  baseline, every sample in one list (as before streaming): +{list_b / MiB:.0f} MiB RSS "
          f"({list_b / total:.0f} B per sample, vs {streamed_per_sample_b:.2f} B streamed); built and measured "
          f"in {memory_s:.1f}s; peak RSS {rss_b()[1] / MiB:.0f} MiB")
    equal = live == expected and read_back == expected
    _show_key_figures(expected)
    print(f"  measurements: streamed == in memory: {live == expected}; file read back == in memory: "
          f"{read_back == expected} ({len(expected)} measurements)")
    del in_memory
    return is_flat and equal


def _show_key_figures(found: dict) -> None:
    names = ("detection_s", "reads.downtime_s", "writes.rto_s", "rpo_s", "deployment_delay_s", "reads.availability")
    print("  " + ", ".join(f"{name} {found[name].value:.4g}" if found[name].value is not None
                           else f"{name} None" for name in names if name in found))


# -- real: samplers against a loopback server ------------------------------------------------------
def _serve(port_out: Any, down: Any) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = b'{"zone": "zone-a"}'
            self.send_response(503 if down.is_set() else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.put(server.server_address[1])
    server.serve_forever()


def _reader(port: int, path: str) -> Callable[[], dict]:
    local = threading.local()

    def read() -> dict:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            local.connection = None
            raise ProbeFailed(str(exc)) from exc
        if response.status != 200:
            raise ProbeFailed(f"HTTP {response.status} from 127.0.0.1:{port}")
        return {"status": response.status, "path": path}
    return read


def real(seconds: float, folder: Path, limit_mib: float) -> bool:
    print(f"real: {seconds:g}s of {len(PROBES)} samplers at {RATE_HZ} Hz against a loopback HTTP server")
    context = multiprocessing.get_context("spawn")
    port_out, down = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(port_out, down), daemon=True)
    server.start()
    try:
        port = port_out.get(timeout=10)
        streamed = TeeTimeline(folder / "real.jsonl")
        samplers = [Sampler(probe, _reader(port, f"/{probe}"), streamed, interval_s=1 / RATE_HZ,
                            max_duration_s=seconds + 5, concurrency=4) for probe in PROBES]
        readings = []
        for sampler in samplers:
            sampler.start()
        began = time.monotonic()
        fault_at, fault_end = began + seconds / 3, began + seconds / 3 + min(5.0, seconds / 6)
        while (now := time.monotonic()) < began + seconds:
            if now >= fault_at and not down.is_set() and now < fault_end:
                streamed.event(EventKind.FAULT_INJECTING, "bench")
                down.set()
                streamed.event(EventKind.FAULT_VERIFIED, "bench")
            if now >= fault_end and down.is_set():
                down.clear()
                streamed.event(EventKind.FAULT_REVERTED, "bench")
            readings.append((len(streamed), rss_b()[0]))
            time.sleep(min(1.0, max(0.0, began + seconds - time.monotonic())))
        for sampler in samplers:
            sampler.stop()
        streamed.close()
        readings.append((len(streamed), rss_b()[0]))
    finally:
        server.kill()
        server.join(5)
    skipped = sum(sampler.stats.skipped for sampler in samplers)
    print(f"  {streamed.count:,} samples ({streamed.count / seconds:.0f}/s of {len(PROBES) * RATE_HZ}/s "
          f"asked; {skipped} ticks skipped: every sampler's calls in flight); RSS MiB every second: "
          + " ".join(f"{rss / MiB:.0f}" for _, rss in readings))
    is_flat, growth_mib = flat(readings, limit_mib)
    lateness = sum(len(sampler.stats.lateness_s) for sampler in samplers)
    print(f"  RSS growth after warm-up: {growth_mib:.1f} MiB ({'flat' if is_flat else 'NOT flat'}); outside the "
          f"timeline, the samplers' SamplerStats keep the last {LATENESS_KEPT:,} ticks' lateness each: "
          f"{lateness:,} floats now, bounded whatever the run length")
    expected = measure(ListTimeline(streamed.kept(), streamed.events))
    live, read_back = measure(streamed), measure(Timeline.read_jsonl(streamed.path))
    _show_key_figures(expected)
    print(f"  measurements: streamed == in memory: {live == expected}; file read back == in memory: "
          f"{read_back == expected}")
    return is_flat and live == expected and read_back == expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated run length (default 60)")
    parser.add_argument("--real-seconds", type=float, default=60.0, help="real-time sampler run (default 60)")
    parser.add_argument("--flat-mib", type=float, default=16.0, help="RSS growth after warm-up that is flat")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="timeline-bench-") as folder:
        passed = real(args.real_seconds, Path(folder), args.flat_mib) if args.real_seconds > 0 else True
        passed = (synthetic(args.minutes, Path(folder), args.flat_mib) if args.minutes > 0 else True) and passed
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
