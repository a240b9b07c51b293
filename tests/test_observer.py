"""The harness watches itself: a run during which it was not running is not judged on that time.

A CI run on 2026-12-02 failed a region failure on the normal lab: 28.3 s of read downtime against the
load balancers' 99.999% budget (25.9 s). 10.7 s of it was the harness itself frozen (every sampler's
requests in flight then "took" 13 s; no new one started). These tests freeze a real process with
SIGSTOP, as the machine froze it, and check that the heartbeat sees it and the verdict says so.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from zerospof.chaos.verdict import harness_error, observer_stalled, scenario_report
from zerospof.objectives import load_objectives
from zerospof.scenario import AVAILABILITY, OBSERVER, WRITES, Plan, build_monitoring
from zerospof.timeline import EventKind, Timeline

ROOT = Path(__file__).resolve().parents[1]


def freeze_for(pid: int, seconds: float) -> subprocess.Popen:
    """Stop ``pid`` (all its threads) now and continue it after ``seconds``, from another process."""
    return subprocess.Popen(["sh", "-c", f"kill -STOP {pid}; sleep {seconds}; kill -CONT {pid}"])


def test_a_frozen_harness_shows_as_a_gap_in_its_heartbeat():
    objectives = load_objectives(ROOT / "objectives.yaml")
    timeline = Timeline()
    monitoring = build_monitoring(Plan({"reads": dict, "writes": "not in this test"}, {}, signal_interval_s=1.0),
                                  timeline, objectives)
    assert OBSERVER in [sampler.name for sampler in monitoring.samplers]
    for sampler in monitoring.samplers:
        sampler.start()
    try:
        time.sleep(0.5)
        timeline.event(EventKind.FAULT_INJECTING, "test")
        time.sleep(0.5)
        freezer = freeze_for(os.getpid(), 1.5)
        freezer.wait(timeout=30)
        time.sleep(0.5)
    finally:
        for sampler in monitoring.samplers:
            sampler.stop()
    stalled = observer_stalled(timeline, objectives)
    assert 1.2 < stalled.value < 3.0, stalled
    [(start, end)] = stalled.detail["stalls"]
    reads = [s.t_mono for s in timeline.samples_of(AVAILABILITY)]
    beat = stalled.resolution_s  # the stall is known to the heartbeat's interval at each end
    assert not [t for t in reads if start + beat < t < end - beat]  # no user request started while stopped


def _az_failure_report(stall_s: float) -> tuple[dict, dict]:
    """An AZ failure whose reads failed for 0.4 s, with the harness stopped ``stall_s`` in the window."""
    objectives = load_objectives(ROOT / "objectives.yaml")
    timeline = Timeline()
    monitoring = build_monitoring(Plan({"reads": dict, "writes": dict}, {"signal:lb": dict}, signal_interval_s=1.0),
                                  timeline, objectives)
    timeline.event(EventKind.FAULT_INJECTING, "test", t_mono=99.9)
    timeline.event(EventKind.FAULT_VERIFIED, "test", t_mono=100.0)
    frozen = (110.0, 110.0 + stall_s) if stall_s else (0.0, 0.0)
    for tick in range(900, 1300):
        t_mono = tick / 10
        if not frozen[0] < t_mono < frozen[1]:
            timeline.record(OBSERVER, True, t_mono=t_mono)
            timeline.record(AVAILABILITY, not 105.0 <= t_mono < 105.4, t_mono=t_mono, latency_s=0.01)
            timeline.record(WRITES, True, {"seq": tick}, t_mono=t_mono, latency_s=0.01)
            timeline.record("signal:lb", True, {"detected": t_mono >= 101.0}, t_mono=t_mono)
    report = scenario_report(timeline, objectives, "az-failure", monitoring, [])
    journal = {"status": "completed", "zerospof": report}
    return report, journal


def test_a_verdict_that_turns_on_unobserved_time_is_a_harness_error_not_a_platform_failure():
    report, journal = _az_failure_report(stall_s=1.5)
    [observed] = [c for c in report["conditions"] if c["name"] == "observed-throughout"]
    assert not observed["passed"] and not report["passed"]
    assert "not running for 1.5s (t0+10.0s .. t0+11.5s)" in observed["message"]
    assert "reads.downtime_s" in observed["message"]  # 0.4 s measured; 0 or 2 s possible: "0" undecided
    assert harness_error(journal, None) == observed["message"]  # exit 3, pytest ERROR, Allure broken


def test_the_same_run_observed_throughout_is_judged_and_fails():
    report, journal = _az_failure_report(stall_s=0)
    [observed] = [c for c in report["conditions"] if c["name"] == "observed-throughout"]
    assert observed["passed"] and "observed throughout" in observed["message"]
    assert not report["passed"] and harness_error(journal, None) is None  # the platform's FAIL: exit 1
    assert report["measurements"]["reads.downtime_s"]["value"] == pytest.approx(0.4)
