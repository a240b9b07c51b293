"""A streamed timeline: the same measurements as every sample kept in memory, crash-safe, flat memory."""

from __future__ import annotations

import http.client
import http.server
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import tracemalloc
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerospof import timeline as timeline_module
from zerospof.errors import FaultNotInEffect
from zerospof.faults import Fault, Ledger
from zerospof.monitors import ProbeFailed
from zerospof.objectives import load_objectives
from zerospof.scenario import AVAILABILITY, MAX_OBSERVATION_S, WRITE_CANARY, WRITES, Plan, measure_scenario
from zerospof.spof import Member, SweepTarget, run_member
from zerospof.timeline import Event, EventKind, Sample, Timeline

ROOT = Path(__file__).resolve().parents[1]


class ListTimeline:
    """The timeline as it was before streaming: every :class:`Sample` in one list in memory.

    The reference a streamed timeline's measurements must equal (its reading half, verbatim).
    """

    def __init__(self, samples: Iterable[Sample] = (), events: Iterable[Event] = ()) -> None:
        self._samples = list(samples)
        self._events = list(events)

    @property
    def samples(self) -> list[Sample]:
        return sorted(self._samples, key=lambda s: s.t_mono)

    @property
    def events(self) -> list[Event]:
        return sorted(self._events, key=lambda e: e.t_mono)

    def samples_of(self, probe: str) -> list[Sample]:
        return [s for s in self.samples if s.probe == probe]

    def until(self, t_mono: float) -> ListTimeline:
        return ListTimeline([s for s in self.samples if s.t_mono < t_mono], self.events)

    first_event = Timeline.first_event  # events are kept in a list on both sides: the same code
    t0 = Timeline.t0


SIGNAL = "signal:lb"


def measure(timeline) -> dict | str:
    """Every scenario measurement, or the error measuring raised (the same on both sides, too)."""
    try:
        return measure_scenario(timeline, [SIGNAL], sustained_s=1.0, data_loss=True, slow_s=0.5,
                                rpo_probe=WRITE_CANARY)
    except ValueError as exc:
        return f"ValueError: {exc}"


# -- streamed == in memory ---------------------------------------------------------------------
_times = st.floats(0.0, 30.0, allow_nan=False).map(lambda t: round(t, 3))
_user_samples = st.lists(st.tuples(st.sampled_from([AVAILABILITY, WRITES]), _times, st.booleans(),
                                   st.one_of(st.none(), st.floats(0.0, 1.0).map(lambda x: round(x, 4)))),
                         max_size=120)
_signal_samples = st.lists(st.tuples(_times, st.booleans()), max_size=30)
_canary_samples = st.lists(st.tuples(_times, st.booleans()), max_size=30)


@settings(max_examples=60, deadline=None)
@given(users=_user_samples, signals=_signal_samples, canary=_canary_samples,
       steps=st.lists(_times, min_size=4, max_size=4), fail_back=st.one_of(st.none(), _times),
       present=st.sets(st.integers(0, 30), max_size=20), concurrent=st.booleans())
def test_measurements_of_a_streamed_timeline_equal_those_of_the_same_samples_in_memory(
        users, signals, canary, steps, fail_back, present, concurrent):
    injecting, verified, reverted, readback = sorted(steps)
    samples = [Sample(probe, t, t + 1000.0, ok, {"zone": "a"} if ok else None, None if ok else "refused", latency)
               for probe, t, ok, latency in users]
    samples += [Sample(SIGNAL, t, t + 1000.0, True, {"detected": detected}) for t, detected in signals]
    samples += [Sample(WRITE_CANARY, t, t + 1000.0, ok, {"seq": seq, "acked_mono": t + 0.01} if ok else None)
                for seq, (t, ok) in enumerate(canary)]
    if concurrent:  # open-loop samplers record out of order: a slow call lands after later ticks
        samples.reverse()
    events = [Event(EventKind.FAULT_INJECTING, injecting, 0.0), Event(EventKind.FAULT_VERIFIED, verified, 0.0),
              Event(EventKind.FAULT_REVERTED, reverted, 0.0),
              Event(EventKind.CANARY_READBACK, readback, 0.0, data={"probe": WRITE_CANARY,
                                                                    "present_seqs": sorted(present)})]
    if fail_back is not None:
        events.append(Event(EventKind.FAIL_BACK, fail_back, 0.0))
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(timeline_module, "CHUNK_SAMPLES", 7)  # most samples are spilled to disk and read back
        streamed = Timeline(path=Path(folder) / "timeline.jsonl")
        for sample in samples:
            streamed.record(sample.probe, sample.ok, sample.value, sample.error, sample.t_mono, sample.latency_s)
        for event in events:
            streamed.event(event.kind, t_mono=event.t_mono, t_wall=event.t_wall, **event.data)
        streamed.close()
        expected = measure(ListTimeline(samples, events))
        assert measure(streamed) == expected
        assert measure(Timeline.read_jsonl(streamed.path)) == expected


def test_samples_since_a_time_are_the_later_samples_in_order(monkeypatch):
    monkeypatch.setattr(timeline_module, "CHUNK_SAMPLES", 5)
    timeline = Timeline()
    times = [float((7 * i) % 23) for i in range(23)]  # every time once, out of order
    for t in times:
        timeline.record("p", True, t_mono=t)
    assert [s.t_mono for s in timeline.samples_of("p", since=10.0)] == [t for t in sorted(times) if t >= 10.0]
    assert [s.t_mono for s in timeline.until(10.0).samples_of("p")] == [t for t in sorted(times) if t < 10.0]


# -- crash safety --------------------------------------------------------------------------------
def test_a_killed_run_leaves_a_readable_timeline(tmp_path):
    path = tmp_path / "timeline.jsonl"
    recorder = textwrap.dedent(f"""
        import sys, time
        from zerospof.timeline import EventKind, Timeline
        timeline = Timeline(path={str(path)!r})
        timeline.event(EventKind.FAULT_VERIFIED, "test")
        print("recording", flush=True)
        for n in range(10_000_000):
            timeline.record("p", n % 3 != 0, {{"n": n, "pad": "x" * 200}})
            if n % 1000 == 0:
                time.sleep(0.001)
    """)
    child = subprocess.Popen([sys.executable, "-c", recorder], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "recording\n"
        time.sleep(1.5)  # more than FLUSH_S: at least one flush of samples
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    again = Timeline.read_jsonl(path)
    values = [s.value["n"] for s in again.samples_of("p")]
    assert values and values == list(range(len(values)))  # a prefix of what was recorded, nothing lost within it
    assert again.t0() is not None


def test_a_partial_last_line_is_ignored_and_a_bad_line_elsewhere_is_not(tmp_path):
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path=path)
    timeline.record("p", True, t_mono=1.0)
    timeline.record("p", False, t_mono=2.0)
    timeline.close()
    whole = path.read_text()
    path.write_text(whole + whole.splitlines(keepends=True)[0][:25])
    assert [s.t_mono for s in Timeline.read_jsonl(path).samples_of("p")] == [1.0, 2.0]
    path.write_text(whole.splitlines(keepends=True)[0][:25] + "\n" + whole)
    with pytest.raises(ValueError, match="line 1"):
        Timeline.read_jsonl(path)


# -- memory ----------------------------------------------------------------------------------------
def _read_like_value(n: int) -> dict:
    """What a user read records (see ``zerospof.lab.driver.read_app``)."""
    return {"status": 200, "zone": f"zone-{n % 3}", "lb": f"10.0.{n % 2}.1:8080", "dns": "10.0.0.53",
            "latency_s": round(0.001 * (n % 97), 4)}


def test_memory_per_recorded_sample_stays_flat_however_many_are_recorded(tmp_path, monkeypatch):
    probes = [AVAILABILITY, WRITES, SIGNAL, WRITE_CANARY, "served-revision"]
    chunk = 256
    monkeypatch.setattr(timeline_module, "CHUNK_SAMPLES", chunk)  # smaller chunks: the same, in fewer samples
    timeline = Timeline(path=tmp_path / "timeline.jsonl")

    def record(rounds: int, start: int) -> None:
        for n in range(start, start + rounds):
            for probe in probes:
                timeline.record(probe, True, _read_like_value(n), t_mono=n * 0.01, latency_s=0.002)

    tracemalloc.start()
    try:
        record(2 * chunk, 0)  # warm-up: every probe has spilled and its memory tail is empty again
        before, _ = tracemalloc.get_traced_memory()
        record(20 * chunk, 2 * chunk)
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    recorded = 20 * chunk * len(probes)
    per_sample_b = (after - before) / recorded
    assert per_sample_b < 8, f"{per_sample_b:.1f} B per sample kept in memory"  # one list in memory: ~500 B
    assert peak - before < 4 * 2**20
    assert len(timeline.samples_of(AVAILABILITY)) == 22 * chunk
    assert [p.name for p in tmp_path.iterdir()] == ["timeline.jsonl"]  # the spilled samples leave no file behind


# -- the observation bound ---------------------------------------------------------------------------
def test_a_run_observes_for_hours_unless_told_otherwise_and_never_unbounded():
    from zerospof.chaos.settings import ScenarioSettings
    from zerospof.errors import ConfigError

    assert ScenarioSettings.from_configuration({"zerospof_scenario": "region-failure"}).max_observation_s == 4 * 3600
    chosen = ScenarioSettings.from_configuration({"zerospof_scenario": "region-failure",
                                                  "zerospof_max_observation": "6h"})
    assert chosen.max_observation_s == 6 * 3600
    with pytest.raises(ConfigError, match="zerospof_max_observation"):
        ScenarioSettings.from_configuration({"zerospof_scenario": "region-failure", "zerospof_max_observation": 0})


class ServerRefuses(Fault):
    """A real fault on the tests' loopback HTTP server: while its flag file exists, the server answers 503."""

    kind = "test-server-refuses"

    def inject(self) -> None:
        Path(self.params["flag"]).touch()

    def verify(self) -> None:
        if _get(self.params["port"]) != 503:
            raise FaultNotInEffect(f"127.0.0.1:{self.params['port']} still serves")

    def revert(self) -> None:
        Path(self.params["flag"]).unlink(missing_ok=True)


def _get(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.fixture
def loopback_server(tmp_path):
    """An HTTP server on 127.0.0.1 answering 200, or 503 while ``tmp_path / "down"`` exists."""
    flag = tmp_path / "down"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(503 if flag.exists() else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], flag
    server.shutdown()
    server.server_close()


def test_a_sweep_member_streams_its_timeline_and_bounds_its_samplers_by_its_own_run(loopback_server, tmp_path):
    port, flag = loopback_server

    def users() -> dict:
        if (status := _get(port)) != 200:
            raise ProbeFailed(f"HTTP {status}")
        return {"status": status}

    plans: list[Plan] = []

    def plan(run_id: str) -> Plan:
        plans.append(Plan({"reads": users, "writes": users}, {}, signal_interval_s=1.0, path_concurrency=4))
        return plans[-1]

    target = SweepTarget(members=lambda: [], fault=lambda member: ServerRefuses({"flag": str(flag), "port": port}),
                         users=plan, ready=lambda: None, restore=lambda: True)
    path = tmp_path / "members" / "app-a" / "timeline.jsonl"
    result, timeline = run_member(target, Member("app-a", "compute", "app"), load_objectives(ROOT / "objectives.yaml"),
                                  Ledger(tmp_path / "ledger"), "stream-test", max_hold_s=2.0, baseline_s=0.5,
                                  settle_s=0.5, heal_timeout_s=5.0, timeline_path=path)
    streamed = Timeline.read_jsonl(path)
    assert streamed.t0() is not None and any(not s.ok for s in streamed.samples_of(AVAILABILITY))
    assert measure(streamed) == measure(timeline)
    assert len(streamed) == len(timeline)
    assert plans[0].max_observation_s == 0.5 + 2.0 + 0.5 + 5.0 + 60.0 < MAX_OBSERVATION_S
    assert not flag.exists()
