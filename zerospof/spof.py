"""The SPOF sweep: fail every redundant member of every layer alone and judge what users felt.

For each member: wait until the target is healthy and in its reference state, start the users
(reads and writes, the same samplers and measurement as the scenarios) and the member's **layer
check** (what tells that the survivors carry the layer's job without it: a new lease holder, DNS
answering without a lost LB node, every app decrypting with the other region's replica, ...),
fail the member through the ledger, hold the fault until users have been good again for the
sustained window *and* the layer check holds (or until the member's layer RTO objective, capped by
``max_hold_s``, has passed), revert, let the target heal and fail back, then measure. Users not
feeling a member's loss for a few seconds proves nothing when the survivors never took its job
over (a lease not yet expired, a credential not yet refreshed): the layer check is what makes the
fault last long enough to tell. :func:`member_verdict` is pure:

- **redundant**: no path saw a bad request (failed or slow) while the member was down, and the
  layer check held (or the target has none: said in the reasons);
- **spof**: a path did not recover while the member stayed down, recovered later than the layer's
  RTO objective, the event alone used the layer's whole monthly error budget, or the layer check
  never held while the member was down (or held later than the layer's RTO);
- **degraded**: users felt it, within the layer's objectives (the figures say how much);
- **error** (not judged): the member could not be failed, the target did not heal, or the harness itself
  was not running for a while during the member's run (its heartbeat stalled: :func:`unobserved`).

Layers are the seed's "Zero SPOF Validation" checklist; each maps to a components-table row whose
RTO and availability judge its members. A layer with no member on a target is reported as not
validated, never as passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from zerospof import measure
from zerospof.faults import Fault, Ledger
from zerospof.faults.runner import injected
from zerospof.measure import Measurement
from zerospof.monitors import Sampler
from zerospof.objectives import USER_PATHS, Objectives
from zerospof.scenario import (
    PATH_PROBES,
    Layer,
    Plan,
    build_monitoring,
    measure_scenario,
    observer_stalled,
    users_served_since,
)
from zerospof.timeline import EventKind, Timeline

__all__ = ["LAYER_CHECK", "SEED_LAYERS", "Finding", "LayerCheck", "Member", "MemberResult", "Outcome",
           "implied_availability", "layer_outcome", "member_verdict", "sweep", "sweep_passed"]

SEED_LAYERS: dict[str, Layer] = {  # the seed's checklist layer -> the components row that judges its members
    "network": Layer.LOAD_BALANCERS,
    "compute": Layer.OVERALL,
    "control": Layer.CONTROL_PLANE,
    "data": Layer.DATA_PLANE,
    "dns": Layer.DNS,
    "cicd": Layer.GITOPS,
    "gitops": Layer.GITOPS,
    "security": Layer.OVERALL,
}


class Outcome(StrEnum):
    REDUNDANT = "redundant"
    DEGRADED = "degraded"
    SPOF = "spof"
    ERROR = "error"  # the member could not be failed, the target did not heal or the harness froze: not judged
    NOT_EXERCISED = "not-exercised"  # no safe fault fails this member alone: listed with the reason, never a pass


@dataclass(frozen=True)
class Member:
    """One redundant member: its name as the target names it, its checklist layer, kind and place.

    ``not_exercised``: why no safe fault fails it alone (the sweep lists it with this reason and runs nothing).
    """

    name: str
    layer: str
    kind: str
    place: str | None = None
    not_exercised: str | None = None


@dataclass(frozen=True)
class Finding:
    """A static-audit finding: a SPOF risk seen in the configuration, without failing anything.

    ``check``: which audit rule (e.g. ``replicas``); ``subject``: what it was found on; ``layer``:
    the seed's checklist layer.
    """

    layer: str
    check: str
    subject: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class MemberResult:
    member: Member
    outcome: Outcome
    reasons: tuple[str, ...]
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"member": asdict(self.member), "outcome": self.outcome.value, "reasons": list(self.reasons),
                "figures": self.figures}


def member_verdict(member: Member, found: dict[str, Measurement], objectives: Objectives,
                   revert_offset_s: float | None, recovered_while_down: dict[str, bool],
                   layer: dict[str, Any] | None = None) -> MemberResult:
    """Judge one member from the measurements of its run (see the module doc). Pure.

    ``revert_offset_s``: seconds from t0 to the revert. ``recovered_while_down``: per path, whether
    its requests were good for the sustained window before the revert (after its last bad one).
    ``layer``: the layer check's outcome (:func:`layer_outcome`), None when the target has none.
    """
    row = objectives.component(SEED_LAYERS[member.layer])
    rto_limit_s = row.rto.value_s if row is not None else None
    figures: dict[str, Any] = {"held_s": revert_offset_s,
                               "layer": layer or {"checked": False, "reason": "the target has no layer check"}}
    reasons: list[str] = []
    if layer is not None and layer["recovered_s"] is None:
        reasons.append(f"{member.layer}: {layer['check']} never held while {member.name} was down "
                       f"(last seen: {layer['last']})")
    elif layer is not None and rto_limit_s is not None and layer["recovered_s"] >= rto_limit_s:
        reasons.append(f"{member.layer}: {layer['check']} held {layer['recovered_s']:.1f}s after the loss, "
                       f"the {row.name} RTO objective is {row.rto}")
    felt = False
    for path in USER_PATHS:
        downtime = found.get(f"{path}.downtime_s")
        if downtime is None or downtime.value is None:
            figures[path] = {"measured": False, "reason": (downtime.detail.get("reason") if downtime else "no samples")}
            continue
        rto = found[f"{path}.rto_s"].value
        bad, slow = found[f"{path}.failed_requests"].value, found[f"{path}.slow_requests"].value
        figures[path] = {"measured": True, "downtime_s": downtime.value, "bad_requests": bad, "slow_requests": slow,
                         "rto_s": rto, "fail_back_downtime_s": _value(found.get(f"{path}.fail_back_downtime_s"))}
        if not bad:
            continue
        felt = True
        if not recovered_while_down.get(path, False):
            reasons.append(f"{path}: users did not recover while {member.name} was down "
                           f"({bad:g} bad requests, {downtime.value:.1f}s down)")
        elif rto is not None and rto_limit_s is not None and rto >= rto_limit_s:
            reasons.append(f"{path}: recovered in {rto:.1f}s, the {row.name} RTO objective is {row.rto}")
        if row is not None:
            budget = measure.error_budget(downtime, row.availability_pct)
            figures[path]["budget_consumed"] = budget.value
            if budget.value is not None and budget.value >= 1:
                reasons.append(f"{path}: {downtime.value:.1f}s of downtime uses the whole monthly budget of "
                               f"{row.availability_pct:g}%")
    measured = [path for path in USER_PATHS if figures.get(path, {}).get("measured")]
    if not measured:
        return MemberResult(member, Outcome.ERROR, ("no user path was measured",), figures)
    if reasons:
        return MemberResult(member, Outcome.SPOF, tuple(reasons), figures)
    if felt:
        return MemberResult(member, Outcome.DEGRADED, ("users felt it, within the layer's objectives",), figures)
    if layer is None:
        return MemberResult(member, Outcome.REDUNDANT, ("no user request was bad; the layer was not checked",),
                            figures)
    return MemberResult(member, Outcome.REDUNDANT,
                        (f"no user request was bad; {layer['check']} held {layer['recovered_s']:.1f}s after the loss",),
                        figures)


LAYER_CHECK = "layer-check"  # the probe name of a member's layer check in its timeline
LAYER_CHECK_INTERVAL_S = 0.5


@dataclass(frozen=True)
class LayerCheck:
    """What tells that a member's layer does its job without it: ``read()`` -> ``{"ok": bool, ...}``.

    ``check`` says it in words ("a live scheduler other than cp-sched-r1-a holds the lease").
    Built right after the member was failed (a check may compare with that instant).
    """

    check: str
    read: Callable[[], dict[str, Any]]


def layer_outcome(timeline: Timeline, check: LayerCheck) -> dict[str, Any]:
    """When the layer check first held after t0 and before the revert (None: never), from the timeline. Pure."""
    t0, reverted = timeline.t0(), timeline.first_event(EventKind.FAULT_REVERTING)
    end = reverted.t_mono if reverted is not None else float("inf")
    down = [s for s in timeline.samples_of(LAYER_CHECK) if t0 is not None and t0 <= s.t_mono < end]
    held = [s for s in down if s.ok and isinstance(s.value, dict) and s.value.get("ok")]
    last = down[-1] if down else None
    return {"checked": True, "check": check.check,
            "recovered_s": held[0].t_mono - t0 if held else None,
            "resolution_s": LAYER_CHECK_INTERVAL_S, "samples": len(down),
            "last": (None if last is None else last.value if last.ok else last.error)}


def _value(measurement: Measurement | None) -> float | None:
    return None if measurement is None else measurement.value


YEAR_S = 365 * 24 * 3600.0


def implied_availability(results: Iterable[MemberResult], rates_per_year: dict[str, float],
                         objectives: Objectives) -> dict[str, Any]:
    """Expected yearly user downtime per path and the availability it implies. Pure.

    Measured: each member's downtime per path when it failed alone (fail-back included: users felt
    it). ASSUMED: how often a member of each kind fails a year (``rates_per_year``, objectives.yaml
    ``failure-rates``). Expected downtime = sum over members of rate x measured downtime. Judged
    against the ``overall-system`` availability objective; a member not judged makes it unknown.
    """
    results = list(results)
    overall = objectives.component(Layer.OVERALL)
    found: dict[str, Any] = {"assumed_failures_per_year": dict(rates_per_year), "paths": {}}
    for path in USER_PATHS:
        expected_s, unknown = 0.0, []
        for result in results:
            figures = result.figures.get(path, {})
            if not figures.get("measured") or result.member.kind not in rates_per_year:
                unknown.append(result.member.name)
                continue
            felt = figures["downtime_s"] + (figures.get("fail_back_downtime_s") or 0.0)
            expected_s += rates_per_year[result.member.kind] * felt
        availability = None if unknown else 1 - expected_s / YEAR_S
        found["paths"][path] = {
            "expected_downtime_s_per_year": None if unknown else expected_s, "availability": availability,
            "not_counted": unknown,
            "objective_pct": overall.availability_pct if overall else None,
            "passed": (availability is not None and overall is not None
                       and 100 * availability >= overall.availability_pct),
        }
    return found


def sweep_passed(results: Iterable[MemberResult]) -> bool:
    """No member is a SPOF and every member was judged (a member not exercised was not)."""
    return all(result.outcome in (Outcome.REDUNDANT, Outcome.DEGRADED) for result in results)


@dataclass
class SweepTarget:
    """What a target supplies to the sweep (the lab's: :mod:`zerospof.lab.members`)."""

    members: Callable[[], list[Member]]
    fault: Callable[[Member], Fault]
    users: Callable[[str], Plan]  # run id -> a plan with the user paths only
    ready: Callable[[], None]  # wait (bounded) until healthy and in the reference state; raise otherwise
    restore: Callable[[], bool]  # one step towards the reference state; True once there
    layer_check: Callable[[Member], LayerCheck] | None = None  # None: users only (said in every verdict)


def run_member(target: SweepTarget, member: Member, objectives: Objectives, ledger: Ledger, run_id: str,
               max_hold_s: float = 60.0, baseline_s: float = 2.0, settle_s: float = 2.0,
               heal_timeout_s: float = 120.0, say: Callable[[str], None] = lambda _: None,
               timeline_path: Path | None = None) -> tuple[MemberResult, Timeline]:
    """Fail ``member`` alone (through the ledger: reverted on any exit), observe users, heal, judge.

    ``timeline_path``: stream the member's timeline to this JSON Lines file as it is recorded.
    """
    target.ready()
    row = objectives.component(SEED_LAYERS[member.layer])
    hold_limit_s = min(max_hold_s, row.rto.value_s) if row is not None else max_hold_s
    plan = target.users(run_id)
    plan.max_observation_s = baseline_s + hold_limit_s + settle_s + heal_timeout_s + 60.0  # this member's own bound
    timeline = Timeline(path=timeline_path)
    monitoring = build_monitoring(plan, timeline, objectives)
    samplers = list(monitoring.samplers)
    check = None
    for sampler in samplers:
        sampler.start()
    try:
        time.sleep(baseline_s)
        with injected(target.fault(member), ledger=ledger, timeline=timeline, run_id=run_id):
            if target.layer_check is not None:  # built once the member is down: a check may compare with now
                check = target.layer_check(member)
                samplers.append(Sampler(LAYER_CHECK, _checked(check), timeline, interval_s=LAYER_CHECK_INTERVAL_S,
                                        max_duration_s=plan.max_observation_s).start())
            waited = _hold(timeline, objectives.sustained_success_s, objectives.slow_request_s, hold_limit_s,
                           layer_checked=check is not None)
            say(f"  {member.name}: held {waited:.1f}s")
        time.sleep(settle_s)
        _heal(target, timeline, heal_timeout_s)
    finally:
        for sampler in samplers:
            sampler.stop()
        for hook in monitoring.stop_hooks:
            hook()
        timeline.close()
    found = measure_scenario(timeline, [], objectives.sustained_success_s, slow_s=objectives.slow_request_s,
                             unmeasured_paths=monitoring.unmeasured_paths)
    t0, reverted = timeline.t0(), timeline.first_event(EventKind.FAULT_REVERTING)
    offset = reverted.t_mono - t0 if t0 is not None and reverted is not None else None
    recovered = {path: _good_before(timeline, probe, objectives.sustained_success_s, objectives.slow_request_s)
                 for path, probe in PATH_PROBES.items()}
    layer = layer_outcome(timeline, check) if check is not None else None
    result = member_verdict(member, found, objectives, offset, recovered, layer)
    return unobserved(result, observer_stalled(timeline, objectives)), timeline


def unobserved(result: MemberResult, stalled: Measurement) -> MemberResult:
    """``result``, or not judged (error) when the harness itself was not running for a while during the
    member's run (``stalled``: :func:`~zerospof.scenario.observer_stalled`): what users felt then is not
    known, so neither a SPOF nor redundancy is shown. Pure."""
    if not stalled.value:
        return result
    why = (f"not judged: the harness itself was not running for {stalled.value:.1f}s during this member's run "
           f"(its machine or runner froze); it would have been {result.outcome.value}: {'; '.join(result.reasons)}")
    return MemberResult(result.member, Outcome.ERROR, (why,), {**result.figures, "observer_stalled_s": stalled.value})


def _checked(check: LayerCheck) -> Callable[[], dict[str, Any]]:
    def read() -> dict[str, Any]:
        try:
            return check.read()
        except Exception as exc:  # noqa: BLE001 - a check that cannot read has not held: recorded, not raised
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return read


def _good_before(timeline: Timeline, probe: str, sustained_s: float, slow_s: float) -> bool:
    """Whether ``probe`` was good for ``sustained_s`` before the revert, after its last bad request since t0."""
    t0, reverted = timeline.t0(), timeline.first_event(EventKind.FAULT_REVERTING)
    if t0 is None or reverted is None:
        return False
    down = [s for s in timeline.samples_of(probe) if t0 <= s.t_mono < reverted.t_mono]
    bad = [s.t_mono for s in down if not measure.good(s, slow_s)]
    good_after = [s.t_mono for s in down if s.t_mono > max(bad, default=t0 - 1)]
    return bool(good_after) and good_after[-1] - good_after[0] >= sustained_s


def _hold(timeline: Timeline, sustained_s: float, slow_s: float, limit_s: float, layer_checked: bool = False) -> float:
    """Keep the fault until every user path has been good for ``sustained_s`` after t0 (and after its
    last bad request) and, with ``layer_checked``, the layer check's latest reading holds; or until
    ``limit_s`` passed. Return how long it was held."""
    t0 = timeline.t0() or time.monotonic()
    while True:
        now = time.monotonic()
        if now - t0 >= limit_s:
            return now - t0
        checks = timeline.samples_of(LAYER_CHECK, since=t0) if layer_checked else []
        layer_holds = not layer_checked or bool(checks and checks[-1].ok and checks[-1].value.get("ok"))
        if now - users_served_since(timeline, slow_s, since=t0) >= sustained_s + 0.5 and layer_holds:
            return now - t0
        time.sleep(0.25)


def _heal(target: SweepTarget, timeline: Timeline, timeout_s: float) -> None:
    """Restore the reference state (bounded); mark when restoring had to act (a fail-back users may feel)."""
    deadline = time.monotonic() + timeout_s
    marked = False
    while time.monotonic() < deadline:
        asked = time.monotonic()
        try:
            if target.restore():
                return
        except Exception:  # noqa: BLE001 - a target still healing answers with errors: keep asking, bounded
            pass
        if not marked:
            timeline.event(EventKind.FAIL_BACK, "spof-sweep", t_mono=asked)
            marked = True
        time.sleep(0.5)


def sweep(target: SweepTarget, objectives: Objectives, ledger: Ledger, run_id: str,
          layers: list[str] | None = None, names: list[str] | None = None, max_hold_s: float = 60.0,
          say: Callable[[str], None] = print, timelines_dir: Path | None = None,
          ) -> tuple[list[MemberResult], dict[str, Timeline]]:
    """Run every selected member in turn; a member that could not be run is an ``error`` result.

    ``timelines_dir``: stream each member's timeline to ``<timelines_dir>/<member>/timeline.jsonl``.
    """
    from zerospof.errors import ZerospofError

    members = [m for m in target.members() if (not layers or m.layer in layers) and (not names or m.name in names)]
    results, timelines = [], {}
    for index, member in enumerate(members, start=1):
        if member.not_exercised:
            results.append(MemberResult(member, Outcome.NOT_EXERCISED, (f"not exercised: {member.not_exercised}",)))
            say(f"[{index}/{len(members)}] {member.layer}: {member.name} not exercised: {member.not_exercised}")
            continue
        say(f"[{index}/{len(members)}] {member.layer}: failing {member.name} alone")
        try:
            result, timeline = run_member(
                target, member, objectives, ledger, f"{run_id}-{member.name}", max_hold_s=max_hold_s, say=say,
                timeline_path=None if timelines_dir is None else timelines_dir / member.name / "timeline.jsonl")
        except ZerospofError as exc:
            result, timeline = MemberResult(member, Outcome.ERROR, (f"{type(exc).__name__}: {exc}",)), Timeline()
        results.append(result)
        timelines[member.name] = timeline
        say(f"  {member.name}: {result.outcome.value.upper()} - {'; '.join(result.reasons)}")
    return results, timelines
