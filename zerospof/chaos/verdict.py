"""A scenario's result: measurements judged against the objectives, plus the experiment's own conditions.

Chaos Toolkit's status is not trusted alone (a steady state unmet before the method, or an
action that raised, still "completes"): each such condition is a check of its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from zerospof.chaos.settings import ScenarioSettings
from zerospof.measure import Measurement
from zerospof.objectives import Objectives
from zerospof.scenario import (
    PATH_PROBES,
    SCENARIOS,
    Layer,
    Monitoring,
    judge_scenario,
    observer_stalled,
    rto_phases,
)
from zerospof.timeline import EventKind, Timeline
from zerospof.units import format_duration
from zerospof.verdict import Check, in_doubt

__all__ = ["CONDITIONS", "Condition", "experiment_conditions", "harness_error", "scenario_report", "SCHEMA"]

SCHEMA = "zerospof.measurements/2"
CONDITIONS = ("steady-state-before", "fault-in-effect", "method-succeeded", "rollbacks-succeeded",
              "fault-reverted", "not-aborted", "steady-state-after", "observed-throughout")  # every run's, in order


@dataclass(frozen=True)
class Condition:
    """Something that must hold for the figures to mean anything (the fault was in effect, ...)."""

    name: str
    passed: bool
    message: str


def experiment_conditions(journal: dict[str, Any], timeline: Timeline, settings: ScenarioSettings) -> list[Condition]:
    """Check what chaoslib's exit status does not: steady state, actions, rollbacks, the ledger."""
    steady = journal.get("steady_states") or {}
    before = (steady.get("before") or {}).get("steady_state_met")
    after = (steady.get("after") or {}).get("steady_state_met")
    method = journal.get("run", [])
    failed_actions = [r["activity"].get("name", "?") for r in method if r.get("status") != "succeeded"]
    rollbacks = journal.get("rollbacks", [])
    failed_rollbacks = [r["activity"].get("name", "?") for r in rollbacks if r.get("status") != "succeeded"]
    still_open = [record.data["description"] for record in settings.ledger.open_records(settings.run_id)]
    aborted = timeline.first_event(EventKind.ABORTED)
    status = journal.get("status")
    return [
        Condition("steady-state-before", before is True,
                  "the target was healthy before the fault" if before else "the steady state was not met before the fault"),
        Condition("fault-in-effect", timeline.t0() is not None,
                  "the fault was verified in effect (t0)" if timeline.t0() is not None else "the fault was never verified in effect"),
        Condition("method-succeeded", bool(method) and not failed_actions,
                  "every action of the method succeeded" if method and not failed_actions
                  else f"actions failed or did not run: {failed_actions or 'no method ran'}"),
        Condition("rollbacks-succeeded", bool(rollbacks) and not failed_rollbacks,
                  "every rollback succeeded" if rollbacks and not failed_rollbacks
                  else f"rollbacks failed or did not run: {failed_rollbacks or 'none ran'}"),
        Condition("fault-reverted", not still_open,
                  "no fault of this run is left in the ledger" if not still_open else f"still open: {still_open}"),
        Condition("not-aborted", aborted is None and status not in ("interrupted", "aborted"),
                  "the run was neither aborted nor interrupted" if aborted is None and status not in ("interrupted", "aborted")
                  else f"run status {status!r}" + (", the abort guard fired" if aborted else "")),
        Condition("steady-state-after", after is not False,
                  "the target was healthy after the method" if after else
                  ("not checked after the method" if after is None else "the steady state deviated after the method")),
    ]


def _observed_condition(stalled: Measurement, doubtful: tuple[Check, ...], t0: float | None) -> Condition:
    """Whether the harness observed throughout, or, when it stalled, whether any verdict turns on that."""
    name = "observed-throughout"
    if stalled.value is None:
        return Condition(name, True, f"not checked: {stalled.detail.get('reason')}")
    if not stalled.value:
        return Condition(name, True, "the harness observed throughout (no heartbeat gap of "
                                     f"{stalled.detail['min_gap_s']:g}s or more)")
    spans = ", ".join(_span(a, b, t0) for a, b in stalled.detail["stalls"])
    what = f"the harness itself was not running for {stalled.value:.1f}s ({spans})"
    if not doubtful:
        return Condition(name, True, f"{what}; no check turns on that time")
    names = ", ".join(check.measurement for check in doubtful)
    return Condition(name, False, f"{what}: its machine or runner froze (or a thread starved it), so what users "
                                  f"felt then was not observed, and {names} could pass or fail on that time; not "
                                  "judged (run it again on a machine that is not starved)")


def _span(start: float, end: float, t0: float | None) -> str:
    if t0 is None:
        return f"{end - start:.1f}s"
    return f"t0{start - t0:+.1f}s .. t0{end - t0:+.1f}s"


def _measurement_dict(measurement: Measurement) -> dict[str, Any]:
    return {"value": measurement.value, "unit": measurement.unit, "resolution_s": measurement.resolution_s,
            "detail": measurement.detail}


def scenario_report(timeline: Timeline, objectives: Objectives, scenario: str, monitoring: Monitoring,
                    conditions: list[Condition]) -> dict[str, Any]:
    """Measure ``timeline``, judge it against the scenario's objectives and its layers' rows, and return
    the JSON-ready report (``paths``: each user path's figures; ``layers``: each layer's checks)."""
    measurements, verdict = judge_scenario(scenario, timeline, objectives, monitoring)
    t0 = timeline.first_event(EventKind.FAULT_VERIFIED)
    checks = verdict.to_dict()["checks"]
    stalled = observer_stalled(timeline, objectives)
    doubtful = in_doubt(verdict, measurements, stalled.value or 0.0, len(stalled.detail.get("stalls", ())),
                        objectives.slow_request_s)
    conditions = [*conditions, _observed_condition(stalled, doubtful, t0.t_mono if t0 else None)]
    measurements[stalled.name] = stalled
    return {
        "schema": SCHEMA,
        "scenario": scenario,
        "t0_wall": t0.t_wall if t0 else None,
        "passed": verdict.passed and all(condition.passed for condition in conditions),
        "measurements": {name: _measurement_dict(m) for name, m in measurements.items()},
        "slow_request_s": objectives.slow_request_s,
        "paths": _paths(measurements, monitoring),
        "layers": _layers(measurements, checks, SCENARIOS[scenario].layers),
        "phases": {path: rto_phases(timeline, monitoring.signal_probes, objectives.sustained_success_s,
                                    objectives.slow_request_s, probe)
                   for path, probe in PATH_PROBES.items() if timeline.samples_of(probe)},
        "checks": checks,
        "conditions": [asdict(condition) for condition in conditions],
        "signal_probes": monitoring.signal_probes,
        "objectives_file": objectives.source,
    }


def _paths(measurements: dict[str, Measurement], monitoring: Monitoring) -> dict[str, Any]:
    """Per user path: its figures, or why it was not measured."""
    found: dict[str, Any] = {}
    for path in PATH_PROBES:
        figures = {name.split(".", 1)[1]: m.value for name, m in measurements.items() if name.startswith(f"{path}.")}
        if figures.get("downtime_s") is None and figures.get("availability") is None:
            reason = measurements[f"{path}.downtime_s"].detail.get("reason", "not measured")
            found[path] = {"measured": False, "reason": reason}
        else:
            found[path] = {"measured": True, **figures}
    return found


def _layers(measurements: dict[str, Measurement], checks: list[dict[str, Any]], layers: tuple[Layer, ...]
            ) -> dict[str, Any]:
    """Per layer the scenario fails over: its figures and its checks against the components table."""
    found: dict[str, Any] = {}
    for layer in layers:
        prefix = f"{layer}."
        found[str(layer)] = {
            "figures": {name.removeprefix(prefix): {"value": m.value, "unit": m.unit, "resolution_s": m.resolution_s,
                                                    "reason": m.detail.get("reason"), "how": m.detail.get("how")}
                        for name, m in measurements.items() if name.startswith(prefix)},
            "budget": _budget_text(measurements.get(f"{prefix}budget_consumed")),
            "passed": all(c["passed"] for c in checks if c["measurement"].startswith(prefix)),
        }
    return found


def _budget_text(budget: Measurement | None) -> str | None:
    """"22.4 s of downtime = 8.6% of the 99.99% monthly budget of 4m19s"."""
    if budget is None:
        return None
    detail = budget.detail
    allowance = format_duration(detail["budget_s"])
    if budget.value is None:
        return f"not measured ({detail.get('reason')}); budget {allowance} at {detail['availability_pct']:g}%"
    return (f"{format_duration(detail['downtime_s'])} of downtime = {100 * budget.value:.1f}% of the "
            f"{detail['availability_pct']:g}% monthly budget of {allowance}")


def harness_error(journal: dict[str, Any], interruption: str | None, interrupted: bool = False) -> str | None:
    """The root cause when a run could not judge the platform, else None.

    That is: the run was interrupted (not ready, no access, refused by a safety guard, SIGTERM, the
    time limit) or ended before anything was measured, or the fault was never in effect because
    the steady state did not hold or an action of the method failed. An objective missed, a
    steady state that deviated after the fault, or the abort guard firing are the platform's
    results, not errors.
    """
    report = journal.get("zerospof")
    if interrupted or journal.get("status") == "interrupted":  # the control marks an unmet verdict "failed"
        return interruption or "the run was interrupted"
    if report is None:
        return interruption or f"the experiment ended ({journal.get('status')}) before anything was measured"
    conditions = {c["name"]: c for c in report.get("conditions", [])}
    observed = conditions.get("observed-throughout", {})
    if not observed.get("passed", True):
        return observed["message"]
    if conditions.get("fault-in-effect", {}).get("passed", True):
        return None
    for activity in journal.get("run", []):
        if activity.get("status") != "succeeded":
            return f"{activity['activity'].get('name', '?')} failed: {_last_line(activity.get('exception'))}"
    before = conditions.get("steady-state-before", {})
    if not before.get("passed", True):
        return f"{before['message']}, no fault injected"
    return None


def _last_line(exception: Any) -> str:
    """The last line of a journal's ``exception`` (a list of traceback lines): the error itself."""
    if isinstance(exception, list) and exception:
        return str(exception[-1]).strip()
    return str(exception or "no exception recorded").strip()
