"""Turn a timeline into measurements: detection, downtime, RTO, RPO, deployment delay.

Every function here is pure: it reads a :class:`~zerospof.timeline.Timeline` and returns
:class:`Measurement` records. No I/O, no clocks. All times are ``t_mono`` seconds; figures are
offsets from t0 (the ``fault-verified`` event) unless stated otherwise.

``value is None`` means *not measured, not detected or never recovered*; it is never 0 for that,
and ``detail["reason"]`` says why. Each measurement carries its sampling resolution in seconds.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from zerospof.timeline import Event, EventKind, Sample, Timeline

__all__ = [
    "Measurement",
    "detection_s",
    "downtime",
    "rto",
    "rto_phases",
    "rpo",
    "deployment_delay_s",
    "delivery_rto_s",
    "all_renewed_s",
    "error_budget",
    "good",
    "latency",
    "signal_reached_s",
    "observer_stalls",
]


@dataclass(frozen=True)
class Measurement:
    """One measured figure, its unit and resolution; ``value`` None = not measured/detected/recovered."""

    name: str
    value: float | None
    unit: str
    resolution_s: float | None
    detail: dict[str, Any] = field(default_factory=dict)


# -- detection -------------------------------------------------------------------------------
def detection_s(timeline: Timeline, signal_probes: Sequence[str], t0: float | None = None) -> Measurement:
    """Measure seconds from t0 to the first sample of a signal probe reporting ``detected``.

    Only samples at or after t0 count. Resolution is the gap to the previous sample of the
    detecting probe (its median interval when there is none): a signal's samples are taken one
    after the other, so a slow read widens it. ``detail``: each probe's figure and resolution.
    """
    if isinstance(signal_probes, str):
        raise TypeError("signal_probes must be a sequence of probe names, not one string")
    name, unit = "detection_s", "s"
    t0 = _resolve_t0(timeline, t0)
    if t0 is None:
        return _not_measured(name, unit, "no t0: the fault was never verified in effect")
    per_probe = {probe: _first_detection(timeline.samples_of(probe), t0) for probe in signal_probes}
    silent = [probe for probe in signal_probes if not timeline.samples_of(probe)]
    found = {probe: hit for probe, hit in per_probe.items() if hit is not None}
    detail: dict[str, Any] = {
        "t0": t0,
        "signal_probes": list(signal_probes),
        "probes_without_samples": silent,
        "per_probe_s": {probe: (None if hit is None else hit[0].t_mono - t0) for probe, hit in per_probe.items()},
        "per_probe_resolution_s": {probe: (None if hit is None else hit[1]) for probe, hit in per_probe.items()},
    }
    if not found:
        reason = "no signal probe had any sample" if len(silent) == len(signal_probes) else "fault not detected"
        return _not_measured(name, unit, reason, **detail)
    probe, (sample, resolution) = min(found.items(), key=lambda item: item[1][0].t_mono)
    detail.update(probe=probe, t_detected=sample.t_mono)
    return Measurement(name, sample.t_mono - t0, unit, resolution, detail)


def _first_detection(samples: list[Sample], t0: float) -> tuple[Sample, float | None] | None:
    for index, sample in enumerate(samples):
        if sample.t_mono >= t0 and isinstance(sample.value, dict) and sample.value.get("detected"):
            return sample, _interval_before_s(samples, index)
    return None


# -- downtime --------------------------------------------------------------------------------
def good(sample: Sample, slow_s: float | None = None) -> bool:
    """Whether a user was served: the request succeeded, within ``slow_s`` when a limit is given.

    A success slower than ``slow_s`` (its ``latency_s``) is a failure for the user; a sample
    without a latency is judged on success alone.
    """
    if not sample.ok:
        return False
    return slow_s is None or sample.latency_s is None or sample.latency_s <= slow_s


def downtime(timeline: Timeline, probe: str, window: tuple[float, float] | None = None,
             slow_s: float | None = None) -> dict[str, Measurement]:
    """Measure how long, and how many requests, the user-facing ``probe`` was not good in ``window``.

    The window defaults to [t0 (or the first sample), last sample]. A bad sample (failed, or
    slower than ``slow_s``: see :func:`good`) counts as down from its time until the next sample
    of the probe, clipped to the window; the last sample has no next one and adds no time.
    Returns ``downtime_s``, ``failed_requests`` (bad: failed + slow), ``slow_requests`` (succeeded,
    but slower than ``slow_s``), ``failed_request_rate`` (bad / all, a 0..1 ratio) and
    ``availability`` (1 - downtime / window), all None when no sample falls in the window.
    """
    samples = timeline.samples_of(probe)
    start, end = _downtime_window(timeline, samples, window)
    resolution = _median_interval_s(samples)
    inside = [s for s in samples if start <= s.t_mono <= end]
    detail: dict[str, Any] = {"probe": probe, "window": [start, end], "window_s": end - start, "slow_s": slow_s}
    names = {"downtime_s": "s", "failed_requests": "requests", "slow_requests": "requests",
             "failed_request_rate": "ratio", "availability": "ratio"}
    if not inside:
        reason = f"no sample of {probe!r} in the window"
        return {name: _not_measured(name, unit, reason, resolution, **detail) for name, unit in names.items()}
    down_s = sum(_overlap_s(a.t_mono, b.t_mono, start, end) for a, b in zip(samples, samples[1:])
                 if not good(a, slow_s))
    bad = sum(1 for s in inside if not good(s, slow_s))
    slow = sum(1 for s in inside if s.ok and not good(s, slow_s))
    detail.update(total_requests=len(inside), failed_requests=bad - slow, slow_requests=slow,
                  unobserved_tail_s=max(0.0, end - samples[-1].t_mono))
    values = {"downtime_s": down_s, "failed_requests": float(bad), "slow_requests": float(slow),
              "failed_request_rate": bad / len(inside),
              "availability": 1.0 - down_s / (end - start) if end > start else (0.0 if bad else 1.0)}
    return {name: Measurement(name, values[name], unit, resolution, dict(detail)) for name, unit in names.items()}


def _downtime_window(timeline: Timeline, samples: list[Sample],
                     window: tuple[float, float] | None) -> tuple[float, float]:
    if window is not None:
        start, end = window
        if end < start:
            raise ValueError(f"window ends ({end}) before it starts ({start})")
        return start, end
    if not samples:
        t0 = timeline.t0()
        return (0.0, 0.0) if t0 is None else (t0, t0)
    t0 = timeline.t0()
    start = samples[0].t_mono if t0 is None else t0
    return start, max(start, samples[-1].t_mono)


def _overlap_s(a: float, b: float, start: float, end: float) -> float:
    return max(0.0, min(b, end) - max(a, start))


# -- RTO -------------------------------------------------------------------------------------
def rto(timeline: Timeline, probe: str, t0: float | None = None, sustained_s: float = 5.0,
        slow_s: float | None = None, reverted: float | None = None) -> Measurement:
    """Measure seconds from t0 to the start of the sustained-success window after the last failure.

    Only samples at or after t0 count; a success slower than ``slow_s`` is a failure (see
    :func:`good`). The window is the run of good samples following the last bad one, and must
    span at least ``sustained_s`` (first to last sample). Flapping therefore counts from the last
    failure. No failure: 0, provided samples reach ``sustained_s`` past t0.

    ``reverted`` (when the fault was reverted): when users recovered, sustained, while the fault was
    still in effect, that is the RTO; bad requests after the revert (the target healing from the
    revert itself) are counted in the downtime, and in ``detail["bad_after_revert"]``, not here.
    Users who had bad requests during the fault and had not recovered, sustained, before the revert
    did not recover from the fault: None (the revert, not the failover, served them again; a figure
    bounded by how long the fault was held would pass any RTO objective longer than that).
    """
    name, unit = "rto_s", "s"
    t0 = _resolve_t0(timeline, t0)
    if t0 is None:
        return _not_measured(name, unit, "no t0: the fault was never verified in effect")
    all_samples = timeline.samples_of(probe)
    if reverted is not None:
        during = [s for s in all_samples if t0 <= s.t_mono < reverted]
        within = rto(Timeline(during), probe, t0, sustained_s, slow_s)
        if within.value is not None and any(not good(s, slow_s) for s in all_samples if s.t_mono >= reverted):
            bad_after = sum(1 for s in all_samples if s.t_mono >= reverted and not good(s, slow_s))
            return Measurement(name, within.value, unit, within.resolution_s,
                               {**within.detail, "bad_after_revert": bad_after, "reverted": reverted})
        if within.value is not None:
            return within
        if any(not good(s, slow_s) for s in during):
            return _not_measured(name, unit, f"not recovered while the fault was in effect ({within.detail['reason']}; "
                                 f"reverted {reverted - t0:.2f}s after t0)", within.resolution_s,
                                 **{key: value for key, value in within.detail.items() if key != "reason"},
                                 reverted=reverted)
    samples = [s for s in all_samples if s.t_mono >= t0]
    resolution = _median_interval_s(all_samples)
    detail: dict[str, Any] = {"probe": probe, "t0": t0, "sustained_s": sustained_s, "slow_s": slow_s}
    failures = [i for i, s in enumerate(samples) if not good(s, slow_s)]
    if not failures:
        observed_s = samples[-1].t_mono - t0 if samples else 0.0
        detail.update(failures=0, observed_s=observed_s)
        if observed_s < sustained_s:
            return _not_measured(name, unit, f"samples cover {observed_s:.2f}s after t0, "
                                 f"less than the {sustained_s:g}s sustained window", resolution, **detail)
        return Measurement(name, 0.0, unit, resolution, detail)
    last = failures[-1]
    detail.update(failures=len(failures), first_failure_s=samples[failures[0]].t_mono - t0,
                  last_failure_s=samples[last].t_mono - t0)
    recovery = samples[last + 1:]
    if not recovery:
        return _not_measured(name, unit, "never recovered: no success after the last failure", resolution, **detail)
    span_s = recovery[-1].t_mono - recovery[0].t_mono
    detail.update(first_success_after_last_failure_s=recovery[0].t_mono - t0, sustained_span_s=span_s)
    if span_s < sustained_s:
        return _not_measured(name, unit, f"recovery not sustained: successes span {span_s:.2f}s, "
                             f"less than {sustained_s:g}s", resolution, **detail)
    resolution = _interval_before_s(samples, last + 1)
    return Measurement(name, recovery[0].t_mono - t0, unit, resolution, detail)


def rto_phases(timeline: Timeline, probe: str, signal_probes: Sequence[str] = (),
               t0: float | None = None, sustained_s: float = 5.0,
               slow_s: float | None = None) -> dict[str, float | None]:
    """Split RTO into phases, each an offset in seconds from t0 (None where unknown).

    ``detect_s``: detection (see :func:`detection_s`); ``fail_over_s``: first success after the
    first failure (traffic flows again, possibly still flapping); ``recovered_s``: start of the
    sustained-success window, i.e. the RTO. With no failure at all, fail-over and recovery are 0.
    """
    t0 = _resolve_t0(timeline, t0)
    detect = detection_s(timeline, signal_probes, t0).value if signal_probes else None
    recovered = rto(timeline, probe, t0, sustained_s, slow_s)
    return {"detect_s": detect, "fail_over_s": _fail_over_s(timeline, probe, t0, recovered, slow_s),
            "recovered_s": recovered.value}


def _fail_over_s(timeline: Timeline, probe: str, t0: float | None, recovered: Measurement,
                 slow_s: float | None) -> float | None:
    if t0 is None:
        return None
    samples = [s for s in timeline.samples_of(probe) if s.t_mono >= t0]
    first_failure = next((i for i, s in enumerate(samples) if not good(s, slow_s)), None)
    if first_failure is None:
        return recovered.value  # 0 when enough was observed, None otherwise
    first_success = next((s for s in samples[first_failure:] if good(s, slow_s)), None)
    return None if first_success is None else first_success.t_mono - t0


def latency(timeline: Timeline, probe: str) -> dict[str, Measurement]:
    """Latency percentiles (p50, p95, p99, seconds) of ``probe`` before, during and after the fault.

    Phases: *before* the injection started, *during* (injection started to fault reverted, or
    to the end when never reverted) and *after* the revert. Every timed request counts, failed
    ones too (a user waited that long either way). None for a phase without timed samples.
    """
    started = timeline.first_event(EventKind.FAULT_INJECTING) or timeline.first_event(EventKind.FAULT_VERIFIED)
    reverted = timeline.first_event(EventKind.FAULT_REVERTED)
    begin = started.t_mono if started else float("inf")
    end = reverted.t_mono if reverted else float("inf")
    timed = [s for s in timeline.samples_of(probe) if s.latency_s is not None]
    phases = {"before": [s.latency_s for s in timed if s.t_mono < begin],
              "during": [s.latency_s for s in timed if begin <= s.t_mono < end],
              "after": [s.latency_s for s in timed if s.t_mono >= end]}
    found: dict[str, Measurement] = {}
    for phase, values in phases.items():
        for percentile in (50, 95, 99):
            name = f"latency_p{percentile}_{phase}_s"
            if not values:
                found[name] = _not_measured(name, "s", f"no timed {probe!r} sample {phase} the fault", None,
                                            probe=probe)
                continue
            found[name] = Measurement(name, _percentile(values, percentile), "s", None,
                                      {"probe": probe, "phase": phase, "requests": len(values)})
    return found


def _percentile(values: Sequence[float], percentile: float) -> float:
    """Nearest-rank percentile (a value that was really observed)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percentile // 100))
    return ordered[int(rank) - 1]


MONTH_S = 30 * 24 * 3600.0


def error_budget(downtime: Measurement, availability_pct: float, name: str = "budget_consumed") -> Measurement:
    """Measure the share of a 30-day error budget that ``downtime`` consumed (a ratio; 1.0 = all of it).

    An availability objective A allows (1 - A) x 30 days of downtime (99.99% -> 259.2 s). None
    when the downtime is None. Resolution: the downtime's, as a share of the budget.
    """
    budget_s = (1 - availability_pct / 100) * MONTH_S
    detail: dict[str, Any] = {"availability_pct": availability_pct, "budget_s": budget_s, "period_s": MONTH_S,
                              "downtime_s": downtime.value}
    if downtime.value is None:
        return _not_measured(name, "ratio", downtime.detail.get("reason", "downtime not measured"), None, **detail)
    resolution = None if downtime.resolution_s is None or budget_s <= 0 else downtime.resolution_s / budget_s
    if budget_s <= 0:
        return Measurement(name, float("inf") if downtime.value > 0 else 0.0, "ratio", None, detail)
    return Measurement(name, downtime.value / budget_s, "ratio", resolution, detail)


# -- the observer itself -----------------------------------------------------------------------
def observer_stalls(timeline: Timeline, probe: str, window: tuple[float, float] | None,
                    min_gap_s: float) -> Measurement:
    """Measure how long the harness itself was not running in ``window``: ``observer_stalled_s``.

    ``probe`` is a heartbeat: a sampler whose call does nothing, so a gap of ``min_gap_s`` or more
    between two of its samples is time the harness could not sample (its machine or runner froze,
    or a thread starved the others): requests in flight then were timed by a clock nobody read, and
    none were started. The figure is the sum of those gaps (from the last beat before to the first
    after) within ``window``; ``detail["stalls"]`` lists each as ``[from, to]`` (``t_mono``). None when
    the timeline has no heartbeat (a run recorded before it existed) or no window.
    """
    name = "observer_stalled_s"
    samples = timeline.samples_of(probe)
    interval = _median_interval_s(samples)
    detail: dict[str, Any] = {"probe": probe, "min_gap_s": min_gap_s, "window": window}
    if window is None or interval is None:
        why = "no observation window" if window is None else f"no {probe!r} heartbeat in this timeline"
        return _not_measured(name, "s", why, interval, **detail)
    start, end = window
    stalls = [(a.t_mono, b.t_mono) for a, b in zip(samples, samples[1:])
              if b.t_mono - a.t_mono >= min_gap_s and _overlap_s(a.t_mono, b.t_mono, start, end) > 0]
    if samples[-1].t_mono < end - min_gap_s:  # the heartbeat stopped before the window ended
        stalls.append((samples[-1].t_mono, end))
    stalled = sum(_overlap_s(a, b, start, end) for a, b in stalls)
    detail.update(stalls=[[a, b] for a, b in stalls], heartbeat_interval_s=interval)
    return Measurement(name, stalled, "s", interval, detail)


def signal_reached_s(timeline: Timeline, probe: str, key: str, name: str, t0: float | None = None) -> Measurement:
    """Measure seconds from t0 to the first sample of ``probe`` whose value has ``key`` true.

    Used for a layer's own recovery signal (e.g. every DNS provider answers without the lost
    endpoints). None when it never did, or the probe has no sample.
    """
    t0 = _resolve_t0(timeline, t0)
    samples = timeline.samples_of(probe)
    detail: dict[str, Any] = {"probe": probe, "key": key, "t0": t0}
    if t0 is None:
        return _not_measured(name, "s", "no t0: the fault was never verified in effect", **detail)
    if not samples:
        return _not_measured(name, "s", f"no sample of {probe!r}", **detail)
    for index, sample in enumerate(samples):
        if sample.t_mono >= t0 and isinstance(sample.value, dict) and sample.value.get(key):
            return Measurement(name, sample.t_mono - t0, "s", _interval_before_s(samples, index),
                               {**detail, "t_reached": sample.t_mono})
    return _not_measured(name, "s", f"{probe} never reported {key}", _median_interval_s(samples), **detail)


def all_renewed_s(timeline: Timeline, probe: str, name: str, key: str = "refreshed_at",
                  t0: float | None = None) -> Measurement:
    """Measure seconds from t0 to the first sample of ``probe`` in which every member of ``value[key]``
    (member -> epoch seconds it last renewed, e.g. decrypted its credential; None: holds none) renewed
    at or after the fault took effect (t0's wall time). None when that never happened.
    """
    t0 = _resolve_t0(timeline, t0)
    verified = timeline.first_event(EventKind.FAULT_VERIFIED)
    samples = timeline.samples_of(probe)
    detail: dict[str, Any] = {"probe": probe, "key": key, "t0": t0}
    if t0 is None or verified is None:
        return _not_measured(name, "s", "no t0: the fault was never verified in effect", **detail)
    for index, sample in enumerate(samples):
        renewed = sample.value.get(key) if sample.ok and isinstance(sample.value, dict) else None
        if sample.t_mono >= t0 and renewed and all(at is not None and at >= verified.t_wall
                                                    for at in renewed.values()):
            return Measurement(name, sample.t_mono - t0, "s", _interval_before_s(samples, index),
                               {**detail, "members": sorted(renewed)})
    reason = f"no {probe!r} sample" if not samples else f"not every member of {probe} renewed after t0"
    return _not_measured(name, "s", reason, _median_interval_s(samples), **detail)


# -- RPO -------------------------------------------------------------------------------------
def rpo(timeline: Timeline, canary_probe: str = "write-canary", t0: float | None = None) -> dict[str, Measurement]:
    """Measure data loss from the write canary and its latest read-back.

    Returns ``rpo_s``: t0 minus the ack time of the oldest write acknowledged at or before t0
    that the read-back misses (0 when none is missing); and ``lost_writes_after_t0``: how many
    writes acknowledged after t0 (and before the read-back started) are missing, a split-brain
    symptom. Writes acknowledged after the read-back started are ignored. The ack time is the
    canary's ``acked_mono`` when it reports one (else the sample's send time). Resolution is the
    canary write interval.
    """
    t0 = _resolve_t0(timeline, t0)
    canary = timeline.samples_of(canary_probe)
    resolution = _median_interval_s(canary)
    readback = _latest_readback(timeline, canary_probe)
    detail: dict[str, Any] = {"probe": canary_probe, "t0": t0}
    reason = None
    if t0 is None:
        reason = "no t0: the fault was never verified in effect"
    elif readback is not None and "error" in readback.data:
        reason = f"the read-back failed: {readback.data['error']}"
    elif not canary:
        reason = f"no {canary_probe!r} samples: the write canary did not run (does the target have one?)"
    elif readback is None:
        reason = f"no {EventKind.CANARY_READBACK} event for {canary_probe!r}"
    if reason is not None:
        return {"rpo_s": _not_measured("rpo_s", "s", reason, resolution, **detail),
                "lost_writes_after_t0": _not_measured("lost_writes_after_t0", "writes", reason, resolution, **detail)}
    present = set(readback.data.get("present_seqs") or ())
    acked = [s for s in canary if _acked_seq(s) is not None and _ack_time(s) <= readback.t_mono]
    before = [s for s in acked if _ack_time(s) <= t0]
    lost_before = [s for s in before if _acked_seq(s) not in present]
    lost_after = [s for s in acked if _ack_time(s) > t0 and _acked_seq(s) not in present]
    detail.update(t_readback=readback.t_mono, acked_before_t0=len(before), acked_after_t0=len(acked) - len(before),
                  lost_seqs_before_t0=[_acked_seq(s) for s in lost_before],
                  lost_writes_after_t0=len(lost_after), lost_seqs_after_t0=[_acked_seq(s) for s in lost_after])
    after = Measurement("lost_writes_after_t0", float(len(lost_after)), "writes", resolution, dict(detail))
    if not before:
        return {"rpo_s": _not_measured("rpo_s", "s", "no write was acknowledged before t0", resolution, **detail),
                "lost_writes_after_t0": after}
    value = t0 - min(_ack_time(s) for s in lost_before) if lost_before else 0.0
    return {"rpo_s": Measurement("rpo_s", value, "s", resolution, dict(detail)), "lost_writes_after_t0": after}


def _latest_readback(timeline: Timeline, canary_probe: str) -> Event | None:
    readbacks = [e for e in timeline.events
                 if e.kind == EventKind.CANARY_READBACK and e.data.get("probe") == canary_probe]
    return readbacks[-1] if readbacks else None


def _ack_time(sample: Sample) -> float:
    """When the write was acknowledged: the canary's ``acked_mono``, else when it was sent."""
    acked = sample.value.get("acked_mono") if isinstance(sample.value, dict) else None
    return float(acked) if isinstance(acked, (int, float)) and not isinstance(acked, bool) else sample.t_mono


def _acked_seq(sample: Sample) -> Any:
    if sample.ok and isinstance(sample.value, dict) and "seq" in sample.value:
        return sample.value["seq"]
    return None


# -- deployment delay ------------------------------------------------------------------------
def deployment_delay_s(timeline: Timeline, revision_probe: str = "served-revision") -> Measurement:
    """Measure seconds from the last canary commit until ``revision_probe`` first serves it.

    A sample serves revision ``r`` when its value is ``r`` or a dict whose ``"revision"`` is ``r``;
    only samples strictly after the commit count. Every commit's delay is in ``detail["commits"]``.
    """
    name, unit = "deployment_delay_s", "s"
    samples = timeline.samples_of(revision_probe)
    commits = [e for e in timeline.events if e.kind == EventKind.CANARY_COMMIT and "revision" in e.data]
    if not commits:
        return _not_measured(name, unit, f"no {EventKind.CANARY_COMMIT} event", _median_interval_s(samples),
                             probe=revision_probe)
    served = [_first_serving(samples, commit) for commit in commits]
    detail: dict[str, Any] = {
        "probe": revision_probe,
        "commits": [{"revision": c.data["revision"], "t_commit": c.t_mono,
                     "delay_s": None if hit is None else hit[0].t_mono - c.t_mono} for c, hit in zip(commits, served)],
    }
    last = served[-1]
    if last is None:
        reason = f"revision {commits[-1].data['revision']!r} was never served"
        return _not_measured(name, unit, reason, _median_interval_s(samples), **detail)
    sample, resolution = last
    return Measurement(name, sample.t_mono - commits[-1].t_mono, unit, resolution, detail)


def delivery_rto_s(timeline: Timeline, revision_probe: str = "served-revision", t0: float | None = None) -> Measurement:
    """Measure the RTO of a delivery pipeline (GitOps): t0 until a change committed after t0 is served.

    Users may see no failure at all while deployments are stuck, so the user-facing RTO would
    say 0; this says how long nothing new could be deployed. None when no commit followed t0 or
    it was never served.
    """
    name, unit = "rto_s", "s"
    samples = timeline.samples_of(revision_probe)
    t0 = _resolve_t0(timeline, t0)
    if t0 is None:
        return _not_measured(name, unit, "the fault was never verified in effect (no t0)", _median_interval_s(samples))
    commits = [e for e in timeline.events
               if e.kind == EventKind.CANARY_COMMIT and "revision" in e.data and e.t_mono >= t0]
    if not commits:
        return _not_measured(name, unit, "no canary commit after t0", _median_interval_s(samples))
    hit = _first_serving(samples, commits[0])
    detail = {"definition": "t0 to the first change committed after t0 being served", "probe": revision_probe,
              "revision": commits[0].data["revision"], "t0": t0}
    if hit is None:
        return _not_measured(name, unit, f"revision {commits[0].data['revision']!r} was never served",
                             _median_interval_s(samples), **detail)
    sample, resolution = hit
    return Measurement(name, sample.t_mono - t0, unit, resolution, detail)


def _first_serving(samples: list[Sample], commit: Event) -> tuple[Sample, float | None] | None:
    revision = commit.data["revision"]
    for index, sample in enumerate(samples):
        if sample.t_mono > commit.t_mono and _serves(sample.value, revision):
            return sample, _interval_before_s(samples, index)
    return None


def _serves(value: Any, revision: Any) -> bool:
    if isinstance(value, dict):
        return "revision" in value and value["revision"] == revision
    return value == revision


# -- shared helpers --------------------------------------------------------------------------
def _resolve_t0(timeline: Timeline, t0: float | None) -> float | None:
    return timeline.t0() if t0 is None else t0


def _median_interval_s(samples: Sequence[Sample]) -> float | None:
    """Median gap between consecutive samples (ordered by time); None with fewer than two."""
    gaps = [b.t_mono - a.t_mono for a, b in zip(samples, samples[1:])]
    return statistics.median(gaps) if gaps else None


def _interval_before_s(samples: Sequence[Sample], index: int) -> float | None:
    """Gap from ``samples[index]`` back to the previous sample, else the median interval."""
    if index > 0:
        return samples[index].t_mono - samples[index - 1].t_mono
    return _median_interval_s(samples)


def _not_measured(name: str, unit: str, reason: str, resolution_s: float | None = None,
                  **detail: Any) -> Measurement:
    return Measurement(name, None, unit, resolution_s, {**detail, "reason": reason})
