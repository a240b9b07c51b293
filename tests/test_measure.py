"""Measurements on hand-built timelines, plus property-based invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zerospof.measure import (
    Measurement,
    deployment_delay_s,
    detection_s,
    downtime,
    observer_stalls,
    rpo,
    rto,
    rto_phases,
)
from zerospof.timeline import EventKind, Timeline

T0 = 100.0
PROBE = "http"


def _timeline(t0: float | None = T0) -> Timeline:
    timeline = Timeline()
    if t0 is not None:
        timeline.event(EventKind.FAULT_VERIFIED, t_mono=t0)
    return timeline


def _traffic(timeline: Timeline, start: float, pattern: str, interval_s: float = 1.0, probe: str = PROBE) -> None:
    """Record one sample per character of ``pattern`` ("." success, "x" failure) every ``interval_s``."""
    for index, char in enumerate(pattern):
        timeline.record(probe, ok=(char == "."), t_mono=start + index * interval_s)


def _signal(timeline: Timeline, probe: str, times_detected: list[tuple[float, bool]]) -> None:
    for t_mono, detected in times_detected:
        timeline.record(probe, ok=True, value={"detected": detected}, t_mono=t_mono)


# -- detection -------------------------------------------------------------------------------
def test_detection_is_time_from_t0_to_first_detected_sample() -> None:
    timeline = _timeline()
    _signal(timeline, "lb-health", [(98.0, False), (100.5, False), (101.0, False), (101.5, True), (102.0, True)])
    result = detection_s(timeline, ["lb-health"])
    assert result.value == pytest.approx(1.5)
    assert result.resolution_s == pytest.approx(0.5)
    assert result.detail["probe"] == "lb-health"


def test_detection_takes_the_earliest_of_several_signal_probes() -> None:
    timeline = _timeline()
    _signal(timeline, "dns-health", [(104.0, True)])
    _signal(timeline, "lb-health", [(101.0, False), (103.0, True)])
    result = detection_s(timeline, ["dns-health", "lb-health"])
    assert result.value == pytest.approx(3.0)
    assert result.detail["probe"] == "lb-health"
    assert result.detail["per_probe_s"] == {"dns-health": pytest.approx(4.0), "lb-health": pytest.approx(3.0)}


def test_each_signal_has_its_own_resolution_a_slow_read_widening_it() -> None:
    timeline = _timeline()
    _signal(timeline, "lb-health", [(100.9, False), (101.0, True)])  # read every 0.1 s
    _signal(timeline, "node-ready", [(100.5, False), (101.4, True)])  # the detecting read took 0.8 s
    result = detection_s(timeline, ["lb-health", "node-ready"])
    assert result.resolution_s == pytest.approx(0.1)  # the headline figure's: the first signal's
    assert result.detail["per_probe_resolution_s"] == {"lb-health": pytest.approx(0.1),
                                                       "node-ready": pytest.approx(0.9)}


def test_detection_is_none_when_the_signal_never_reports_the_fault() -> None:
    timeline = _timeline()
    _signal(timeline, "lb-health", [(101.0, False), (102.0, False), (103.0, False)])
    result = detection_s(timeline, ["lb-health"])
    assert result.value is None
    assert result.detail["reason"] == "fault not detected"


def test_detection_ignores_signals_reported_before_t0() -> None:
    timeline = _timeline()
    _signal(timeline, "lb-health", [(99.0, True), (101.0, False)])
    assert detection_s(timeline, ["lb-health"]).value is None


def test_detection_is_none_when_the_fault_was_never_verified() -> None:
    timeline = _timeline(t0=None)
    _signal(timeline, "lb-health", [(101.0, True)])
    result = detection_s(timeline, ["lb-health"])
    assert result.value is None
    assert "no t0" in result.detail["reason"]


def test_detection_says_when_no_signal_probe_sampled_at_all() -> None:
    result = detection_s(_timeline(), ["lb-health"])
    assert result.value is None
    assert result.detail["reason"] == "no signal probe had any sample"


def test_detection_uses_the_median_interval_when_the_detecting_sample_is_the_first() -> None:
    timeline = _timeline()
    _signal(timeline, "lb-health", [(100.2, True), (100.7, True), (101.2, True)])
    result = detection_s(timeline, ["lb-health"])
    assert result.value == pytest.approx(0.2)
    assert result.resolution_s == pytest.approx(0.5)


def test_detection_refuses_a_single_string_as_probe_list() -> None:
    with pytest.raises(TypeError):
        detection_s(_timeline(), "lb-health")


# -- downtime --------------------------------------------------------------------------------
def test_downtime_counts_each_failed_sample_until_the_next_sample() -> None:
    timeline = _timeline()
    _traffic(timeline, T0, "..xxx....")
    result = downtime(timeline, PROBE)
    assert result["downtime_s"].value == pytest.approx(3.0)
    assert result["failed_requests"].value == 3
    assert result["failed_request_rate"].value == pytest.approx(3 / 9)
    assert result["downtime_s"].resolution_s == pytest.approx(1.0)


def test_downtime_is_zero_when_no_request_failed() -> None:
    timeline = _timeline()
    _traffic(timeline, T0, "......")
    result = downtime(timeline, PROBE)
    assert result["downtime_s"].value == 0.0
    assert result["failed_requests"].value == 0
    assert result["failed_request_rate"].value == 0.0


def test_downtime_is_clipped_to_the_window() -> None:
    timeline = _timeline()
    _traffic(timeline, 100.0, "xxxxxxxxxx")  # failing from 100 to 109
    result = downtime(timeline, PROBE, window=(102.5, 105.5))
    assert result["downtime_s"].value == pytest.approx(3.0)
    assert result["failed_requests"].value == 3  # samples at 103, 104, 105
    assert result["downtime_s"].detail["window_s"] == pytest.approx(3.0)


def test_downtime_window_defaults_to_t0_until_the_last_sample() -> None:
    timeline = _timeline(t0=102.0)
    _traffic(timeline, 100.0, "xx..x.")  # failures before t0 are outside the window
    result = downtime(timeline, PROBE)
    assert result["downtime_s"].value == pytest.approx(1.0)
    assert result["downtime_s"].detail["window"] == [102.0, 105.0]
    assert result["failed_requests"].value == 1
    assert result["failed_request_rate"].value == pytest.approx(1 / 4)


def test_downtime_window_starts_at_the_first_sample_without_t0() -> None:
    timeline = _timeline(t0=None)
    _traffic(timeline, 50.0, "x..")
    assert downtime(timeline, PROBE)["downtime_s"].value == pytest.approx(1.0)


def test_downtime_of_an_empty_timeline_is_not_measured_rather_than_zero() -> None:
    result = downtime(Timeline(), PROBE)
    assert all(m.value is None for m in result.values())
    assert "no sample" in result["downtime_s"].detail["reason"]


def test_downtime_is_not_measured_when_no_sample_falls_in_the_window() -> None:
    timeline = _timeline()
    _traffic(timeline, 100.0, "xxx")
    result = downtime(timeline, PROBE, window=(200.0, 210.0))
    assert result["downtime_s"].value is None
    assert result["failed_request_rate"].value is None


def test_downtime_refuses_a_window_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError):
        downtime(_timeline(), PROBE, window=(5.0, 1.0))


# -- RTO -------------------------------------------------------------------------------------
def test_rto_is_zero_when_no_request_failed() -> None:
    timeline = _timeline()
    _traffic(timeline, T0 + 0.5, "." * 10)
    result = rto(timeline, PROBE)
    assert result.value == 0.0
    assert result.detail["failures"] == 0


def test_rto_is_not_measured_when_samples_do_not_cover_the_sustained_window() -> None:
    timeline = _timeline()
    _traffic(timeline, T0, "...")
    result = rto(timeline, PROBE, sustained_s=5.0)
    assert result.value is None
    assert "sustained" in result.detail["reason"]


def test_rto_is_the_start_of_the_sustained_success_window() -> None:
    timeline = _timeline()
    _traffic(timeline, T0, "xxxx......")
    result = rto(timeline, PROBE, sustained_s=5.0)
    assert result.value == pytest.approx(4.0)
    assert result.resolution_s == pytest.approx(1.0)


def test_rto_counts_from_the_last_failure_when_recovery_flaps() -> None:
    timeline = _timeline()
    _traffic(timeline, T0, "xx..x...x......")
    result = rto(timeline, PROBE, sustained_s=5.0)
    assert result.value == pytest.approx(9.0)
    assert result.detail["last_failure_s"] == pytest.approx(8.0)


def test_rto_is_none_when_the_service_never_recovered() -> None:
    timeline = _timeline()
    _traffic(timeline, T0, "..xxxxx")
    result = rto(timeline, PROBE)
    assert result.value is None
    assert "never recovered" in result.detail["reason"]


def test_rto_is_none_when_recovery_is_not_yet_sustained() -> None:
    timeline = _timeline()
    _traffic(timeline, T0, "xx...")
    result = rto(timeline, PROBE, sustained_s=5.0)
    assert result.value is None
    assert "not sustained" in result.detail["reason"]


def test_rto_ignores_failures_before_t0() -> None:
    timeline = _timeline(t0=105.0)
    _traffic(timeline, 100.0, "xxxxx" + "." * 8)
    assert rto(timeline, PROBE, sustained_s=5.0).value == 0.0


def test_rto_is_none_when_the_fault_was_never_verified() -> None:
    timeline = _timeline(t0=None)
    _traffic(timeline, T0, "." * 10)
    assert rto(timeline, PROBE).value is None


def test_rto_phases_go_detect_then_fail_over_then_recovered() -> None:
    timeline = _timeline()
    _signal(timeline, "lb-health", [(100.5, False), (101.5, True)])
    _traffic(timeline, T0, "xx..x" + "." * 6)
    phases = rto_phases(timeline, PROBE, ["lb-health"], sustained_s=5.0)
    assert phases == {"detect_s": pytest.approx(1.5), "fail_over_s": pytest.approx(2.0),
                      "recovered_s": pytest.approx(5.0)}


def test_rto_phases_are_zero_for_fail_over_and_recovery_when_nothing_failed() -> None:
    timeline = _timeline()
    _traffic(timeline, T0, "." * 10)
    phases = rto_phases(timeline, PROBE)
    assert phases == {"detect_s": None, "fail_over_s": 0.0, "recovered_s": 0.0}


def test_rto_phases_are_none_when_never_recovered() -> None:
    timeline = _timeline()
    _traffic(timeline, T0, "xxxx")
    assert rto_phases(timeline, PROBE) == {"detect_s": None, "fail_over_s": None, "recovered_s": None}


# -- RPO -------------------------------------------------------------------------------------
def _canary(timeline: Timeline, start: float, count: int, interval_s: float = 1.0) -> None:
    for seq in range(count):
        timeline.record("write-canary", ok=True, value={"seq": seq}, t_mono=start + seq * interval_s)


def _readback(timeline: Timeline, t_mono: float, present: list[int]) -> None:
    timeline.event(EventKind.CANARY_READBACK, t_mono=t_mono, probe="write-canary", present_seqs=present)


def test_rpo_is_zero_when_no_acknowledged_write_was_lost() -> None:
    timeline = _timeline()
    _canary(timeline, 90.0, 20)  # seqs 0..19 acked at 90..109
    _readback(timeline, 120.0, list(range(20)))
    result = rpo(timeline)
    assert result["rpo_s"].value == 0.0
    assert result["lost_writes_after_t0"].value == 0
    assert result["rpo_s"].resolution_s == pytest.approx(1.0)


def test_rpo_is_t0_minus_ack_time_of_the_oldest_missing_write() -> None:
    timeline = _timeline()
    _canary(timeline, 90.0, 11)  # seq 7 acked at 97, seq 10 at 100 (= t0)
    _readback(timeline, 120.0, [0, 1, 2, 3, 4, 5, 6, 8])
    result = rpo(timeline)
    assert result["rpo_s"].value == pytest.approx(3.0)
    assert result["rpo_s"].detail["lost_seqs_before_t0"] == [7, 9, 10]


def test_rpo_reports_writes_lost_after_t0_separately() -> None:
    timeline = _timeline()
    _canary(timeline, 95.0, 10)  # seqs 0..5 before/at t0, 6..9 after
    _readback(timeline, 120.0, [0, 1, 2, 3, 4, 5, 6, 9])
    result = rpo(timeline)
    assert result["rpo_s"].value == 0.0
    assert result["lost_writes_after_t0"].value == 2
    assert result["lost_writes_after_t0"].detail["lost_seqs_after_t0"] == [7, 8]


def test_rpo_reports_losses_before_and_after_t0_together() -> None:
    timeline = _timeline()
    _canary(timeline, 95.0, 10)
    _readback(timeline, 120.0, [0, 1, 2, 4, 5, 6, 9])
    result = rpo(timeline)
    assert result["rpo_s"].value == pytest.approx(2.0)  # seq 3 acked at 98
    assert result["lost_writes_after_t0"].value == 2


def test_rpo_uses_the_latest_readback_of_the_canary_probe() -> None:
    timeline = _timeline()
    _canary(timeline, 95.0, 5)
    _readback(timeline, 110.0, [0])
    _readback(timeline, 120.0, [0, 1, 2, 3, 4])
    timeline.event(EventKind.CANARY_READBACK, t_mono=130.0, probe="other-canary", present_seqs=[])
    assert rpo(timeline)["rpo_s"].value == 0.0


def test_rpo_ignores_writes_acknowledged_after_the_readback() -> None:
    timeline = _timeline()
    _canary(timeline, 95.0, 30)
    _readback(timeline, 110.0, list(range(16)))  # seqs 0..15 acked by 110
    result = rpo(timeline)
    assert result["rpo_s"].value == 0.0
    assert result["lost_writes_after_t0"].value == 0


def test_rpo_ignores_failed_writes() -> None:
    timeline = _timeline()
    _canary(timeline, 95.0, 3)
    timeline.record("write-canary", ok=False, value={"seq": 3}, error="timeout", t_mono=98.0)
    _readback(timeline, 120.0, [0, 1, 2])
    assert rpo(timeline)["rpo_s"].value == 0.0


def test_rpo_is_none_without_a_readback() -> None:
    timeline = _timeline()
    _canary(timeline, 95.0, 10)
    result = rpo(timeline)
    assert result["rpo_s"].value is None
    assert result["lost_writes_after_t0"].value is None
    assert "canary-readback" in result["rpo_s"].detail["reason"]


def test_rpo_is_none_when_nothing_was_acknowledged_before_t0() -> None:
    timeline = _timeline()
    _canary(timeline, 101.0, 5)
    _readback(timeline, 120.0, [])
    result = rpo(timeline)
    assert result["rpo_s"].value is None
    assert result["lost_writes_after_t0"].value == 5


# -- deployment delay ------------------------------------------------------------------------
def _served(timeline: Timeline, start: float, revisions: list[object], interval_s: float = 1.0) -> None:
    for index, revision in enumerate(revisions):
        timeline.record("served-revision", ok=True, value=revision, t_mono=start + index * interval_s)


def test_deployment_delay_is_time_from_commit_to_first_serving_sample() -> None:
    timeline = _timeline()
    timeline.event(EventKind.CANARY_COMMIT, t_mono=100.5, revision="abc")
    _served(timeline, 100.0, ["old", "old", "old", "abc", "abc"])
    result = deployment_delay_s(timeline)
    assert result.value == pytest.approx(2.5)
    assert result.resolution_s == pytest.approx(1.0)


def test_deployment_delay_reads_a_revision_from_a_dict_value() -> None:
    timeline = _timeline()
    timeline.event(EventKind.CANARY_COMMIT, t_mono=100.0, revision="abc")
    _served(timeline, 101.0, [{"revision": "old"}, {"revision": "abc", "app": "web"}])
    assert deployment_delay_s(timeline).value == pytest.approx(2.0)


def test_deployment_delay_reports_the_last_commit_and_every_commit_in_detail() -> None:
    timeline = _timeline()
    timeline.event(EventKind.CANARY_COMMIT, t_mono=100.0, revision="r1")
    timeline.event(EventKind.CANARY_COMMIT, t_mono=104.0, revision="r2")
    _served(timeline, 100.0, ["r0", "r0", "r1", "r1", "r1", "r1", "r1", "r2"])
    result = deployment_delay_s(timeline)
    assert result.value == pytest.approx(3.0)
    assert [c["delay_s"] for c in result.detail["commits"]] == [pytest.approx(2.0), pytest.approx(3.0)]


def test_deployment_delay_ignores_samples_before_the_commit() -> None:
    timeline = _timeline()
    _served(timeline, 100.0, ["r1", "r0", "r0", "r1"])
    timeline.event(EventKind.CANARY_COMMIT, t_mono=100.5, revision="r1")
    assert deployment_delay_s(timeline).value == pytest.approx(2.5)


def test_deployment_delay_is_none_when_the_revision_was_never_served() -> None:
    timeline = _timeline()
    timeline.event(EventKind.CANARY_COMMIT, t_mono=100.0, revision="abc")
    _served(timeline, 100.0, ["old"] * 5)
    result = deployment_delay_s(timeline)
    assert result.value is None
    assert "never served" in result.detail["reason"]


def test_deployment_delay_is_none_when_the_last_commit_was_never_served() -> None:
    timeline = _timeline()
    timeline.event(EventKind.CANARY_COMMIT, t_mono=100.0, revision="r1")
    timeline.event(EventKind.CANARY_COMMIT, t_mono=103.0, revision="r2")
    _served(timeline, 100.0, ["r0", "r1", "r1", "r1", "r1"])
    result = deployment_delay_s(timeline)
    assert result.value is None
    assert result.detail["commits"][0]["delay_s"] == pytest.approx(1.0)


def test_deployment_delay_is_none_without_a_commit() -> None:
    assert deployment_delay_s(_timeline()).value is None


def test_measurements_are_frozen() -> None:
    measurement = Measurement("x", 1.0, "s", 0.5, {})
    with pytest.raises(AttributeError):
        measurement.value = 2.0  # type: ignore[misc]


# -- properties ------------------------------------------------------------------------------
gaps_s = st.floats(min_value=0.01, max_value=10.0, allow_nan=False, allow_infinity=False)
runs = st.lists(st.tuples(gaps_s, st.booleans()), min_size=0, max_size=60)
offsets_s = st.floats(min_value=-20.0, max_value=200.0, allow_nan=False, allow_infinity=False)


def _random_traffic(gaps_and_oks: list[tuple[float, bool]], t0: float | None) -> Timeline:
    timeline = _timeline(t0)
    t_mono = 90.0
    for gap, ok in gaps_and_oks:
        t_mono += gap
        timeline.record(PROBE, ok=ok, t_mono=t_mono)
    return timeline


@given(runs, st.one_of(st.none(), offsets_s), st.one_of(st.none(), st.tuples(offsets_s, offsets_s)))
def test_downtime_stays_within_the_window_and_failures_within_requests(
        gaps_and_oks: list[tuple[float, bool]], t0_offset: float | None,
        window: tuple[float, float] | None) -> None:
    timeline = _random_traffic(gaps_and_oks, None if t0_offset is None else 90.0 + t0_offset)
    if window is not None:
        window = (90.0 + min(window), 90.0 + max(window))
    result = downtime(timeline, PROBE, window)
    down, failed, rate = result["downtime_s"], result["failed_requests"], result["failed_request_rate"]
    if down.value is None:
        assert failed.value is None and rate.value is None
        return
    start, end = down.detail["window"]
    assert 0.0 <= down.value <= (end - start) + 1e-9
    assert 0 <= failed.value <= down.detail["total_requests"]
    assert 0.0 <= rate.value <= 1.0


@given(runs)
def test_downtime_over_the_whole_run_is_the_sum_of_gaps_after_failures(
        gaps_and_oks: list[tuple[float, bool]]) -> None:
    timeline = _random_traffic(gaps_and_oks, None)
    result = downtime(timeline, PROBE)["downtime_s"]
    if not gaps_and_oks:
        assert result.value is None
        return
    expected = sum(gap for (gap, _), (_, ok) in zip(gaps_and_oks[1:], gaps_and_oks) if not ok)
    assert result.value == pytest.approx(expected)


@given(runs, offsets_s, st.floats(min_value=0.0, max_value=20.0))
def test_rto_is_none_or_at_least_the_last_failure_after_t0(
        gaps_and_oks: list[tuple[float, bool]], t0_offset: float, sustained_s: float) -> None:
    t0 = 90.0 + t0_offset
    timeline = _random_traffic(gaps_and_oks, t0)
    result = rto(timeline, PROBE, sustained_s=sustained_s)
    failures = [s.t_mono for s in timeline.samples_of(PROBE) if s.t_mono >= t0 and not s.ok]
    if result.value is None:
        assert result.detail["reason"]
        return
    assert result.value >= 0.0
    if failures:
        assert result.value > max(failures) - t0
    else:
        assert result.value == 0.0
    phases = rto_phases(timeline, PROBE, sustained_s=sustained_s)
    assert phases["recovered_s"] == result.value
    assert phases["fail_over_s"] is not None and 0.0 <= phases["fail_over_s"] <= result.value


@given(st.lists(st.tuples(gaps_s, st.booleans(), st.booleans()), max_size=40), offsets_s)
def test_rpo_is_never_negative(writes: list[tuple[float, bool, bool]], t0_offset: float) -> None:
    t0 = 90.0 + t0_offset
    timeline = _timeline(t0)
    t_mono, present = 90.0, []
    for seq, (gap, ok, kept) in enumerate(writes):
        t_mono += gap
        timeline.record("write-canary", ok=ok, value={"seq": seq}, t_mono=t_mono)
        if kept:
            present.append(seq)
    _readback(timeline, t_mono + 1.0, present)
    result = rpo(timeline)
    assert result["rpo_s"].value is None or result["rpo_s"].value >= 0.0
    if not writes:  # the canary never ran: nothing is known, not "nothing lost"
        assert result["rpo_s"].value is None and result["lost_writes_after_t0"].value is None
        return
    assert result["lost_writes_after_t0"].value >= 0
    if all(kept for _, _, kept in writes) and result["rpo_s"].value is not None:
        assert result["rpo_s"].value == 0.0


@given(st.lists(st.tuples(gaps_s, st.booleans()), max_size=30), offsets_s)
def test_detection_is_none_or_not_negative(signals: list[tuple[float, bool]], t0_offset: float) -> None:
    timeline = _timeline(90.0 + t0_offset)
    t_mono = 90.0
    for gap, detected in signals:
        t_mono += gap
        timeline.record("lb-health", ok=True, value={"detected": detected}, t_mono=t_mono)
    result = detection_s(timeline, ["lb-health"])
    assert result.value is None or result.value >= 0.0
    assert result.resolution_s is None or result.resolution_s > 0.0


def test_delivery_rto_counts_until_a_change_committed_after_t0_is_served():
    from zerospof.measure import delivery_rto_s

    timeline = Timeline()
    timeline.event(EventKind.CANARY_COMMIT, t_mono=5.0, revision="before")
    timeline.event(EventKind.FAULT_VERIFIED, t_mono=10.0)
    timeline.event(EventKind.CANARY_COMMIT, t_mono=10.5, revision="after")
    for t, served in ((11.0, "before"), (12.0, "before"), (13.5, "after"), (14.0, "after")):
        timeline.record("served-revision", True, served, t_mono=t)
    rto = delivery_rto_s(timeline)
    assert rto.value == 3.5 and rto.resolution_s == 1.5


def test_delivery_rto_is_none_when_the_change_is_never_served():
    from zerospof.measure import delivery_rto_s

    timeline = Timeline()
    timeline.event(EventKind.FAULT_VERIFIED, t_mono=10.0)
    timeline.event(EventKind.CANARY_COMMIT, t_mono=10.5, revision="after")
    timeline.record("served-revision", True, "before", t_mono=12.0)
    assert delivery_rto_s(timeline).value is None


def test_a_delivery_scenario_without_a_canary_commit_is_not_measured_rather_than_passed_on_user_rto():
    from zerospof.scenario import AVAILABILITY, measure_scenario

    timeline = _timeline()
    _traffic(timeline, T0 - 2, "." * 12, probe=AVAILABILITY)  # users never saw a failure: user-facing RTO 0
    found = measure_scenario(timeline, [], sustained_s=5.0, delivery=True)
    assert found["user_rto_s"].value == 0
    assert found["rto_s"].value is None and "no canary commit" in found["rto_s"].detail["reason"]
    assert found["deployment_delay_s"].value is None and "canary-commit" in found["deployment_delay_s"].detail["reason"]
    assert "deployment_delay_s" not in measure_scenario(timeline, [], sustained_s=5.0)


def test_rpo_uses_the_canarys_ack_time_and_ignores_writes_acknowledged_after_the_read_back_started():
    from zerospof.measure import rpo

    timeline = _timeline()
    # seq 0: sent 98.0, acked 98.5 (before t0); seq 1: sent 99.8, acked 100.4 (after t0 = 100);
    # seq 2: sent 104.9, acked 105.3, after the read-back started at 105.0: not counted even though missing
    for seq, sent, acked in ((0, 98.0, 98.5), (1, 99.8, 100.4), (2, 104.9, 105.3)):
        timeline.record("write-canary", ok=True, value={"seq": seq, "acked_mono": acked}, t_mono=sent)
    timeline.event(EventKind.CANARY_READBACK, t_mono=105.0, probe="write-canary", present_seqs=[])
    found = rpo(timeline)
    assert found["rpo_s"].value == pytest.approx(1.5)  # t0 - ack time of seq 0, not its send time (2.0)
    assert found["rpo_s"].detail["lost_seqs_before_t0"] == [0]
    assert found["lost_writes_after_t0"].detail["lost_seqs_after_t0"] == [1]  # sent before t0, acked after


def test_an_rpo_objective_without_a_write_canary_is_not_measured_with_the_reason():
    from zerospof.scenario import AVAILABILITY, measure_scenario

    timeline = _timeline()
    _traffic(timeline, T0 - 2, "." * 12, probe=AVAILABILITY)
    found = measure_scenario(timeline, [], sustained_s=5.0, data_loss=True)
    assert found["rpo_s"].value is None and "write canary did not run" in found["rpo_s"].detail["reason"]
    assert "rpo_s" not in measure_scenario(timeline, [], sustained_s=5.0)


# -- the observer ----------------------------------------------------------------------------
def _heartbeat(timeline: Timeline, times: list[float], probe: str = "beat") -> None:
    for t_mono in times:
        timeline.record(probe, ok=True, t_mono=t_mono)


def _beats(start: float, end: float, interval_s: float = 0.1) -> list[float]:
    return [start + i * interval_s for i in range(round((end - start) / interval_s) + 1)]


def test_a_heartbeat_gap_is_time_the_harness_did_not_observe() -> None:
    timeline = _timeline()  # the CI run of 2026-12-02: the harness froze from t0+60.6 to t0+71.3
    _heartbeat(timeline, _beats(95.0, 160.6) + _beats(171.3, 190.0))
    result = observer_stalls(timeline, "beat", (99.8, 185.0), min_gap_s=1.0)
    assert result.value == pytest.approx(10.7, abs=1e-6)  # from the last beat before to the first after
    assert result.detail["stalls"] == [[pytest.approx(160.6), pytest.approx(171.3)]]
    assert result.resolution_s == pytest.approx(0.1)


def test_gaps_shorter_than_the_limit_or_outside_the_window_are_not_stalls() -> None:
    timeline = _timeline()
    _heartbeat(timeline, _beats(90.0, 95.0) + _beats(97.0, 110.0, 0.5) + _beats(110.9, 120.0))
    assert observer_stalls(timeline, "beat", (99.0, 120.0), min_gap_s=1.0).value == 0  # 2 s gap before the window
    assert observer_stalls(timeline, "beat", (94.0, 120.0), min_gap_s=1.0).value == pytest.approx(2.0)


def test_a_heartbeat_that_stops_before_the_window_ends_is_a_stall_to_the_end() -> None:
    timeline = _timeline()
    _heartbeat(timeline, _beats(95.0, 110.0))
    result = observer_stalls(timeline, "beat", (99.0, 115.0), min_gap_s=1.0)
    assert result.value == pytest.approx(5.0)
    assert result.detail["stalls"] == [[pytest.approx(110.0), 115.0]]


def test_without_a_heartbeat_the_stall_is_not_measured_never_zero() -> None:
    result = observer_stalls(_timeline(), "beat", (99.0, 115.0), min_gap_s=1.0)
    assert result.value is None and "no 'beat' heartbeat" in result.detail["reason"]
    timeline = _timeline()
    _heartbeat(timeline, _beats(95.0, 110.0))
    assert observer_stalls(timeline, "beat", None, min_gap_s=1.0).value is None
