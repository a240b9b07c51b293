"""The measurement control: runs the monitors during ``chaos run`` and judges what they saw.

Declared in every experiment (``controls:``). Before the experiment it validates the
objectives, starts the scenario's monitors (their samples stream to ``timeline.jsonl`` in the
run directory as they are taken) and the abort guard, and turns SIGTERM into an interruption
(so the rollbacks run). After it, it completes the timeline (the fault's steps from the ledger,
canary events from the journal), measures, judges against ``objectives.yaml`` and writes
``zerospof`` into the journal and ``measurements.json`` into the run directory, and, for a target that reads its
components' records (AWS), ``component_logs.json``. A missed
objective, an unmet steady state, a failed action or an unreverted fault sets the journal's
status to ``failed``, so ``chaos run`` exits non-zero.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from chaoslib.exceptions import InterruptExecution

from zerospof.chaos.exit import exit_chaos_run_with
from zerospof.chaos.journal import add_objective_probes
from zerospof.chaos.settings import ScenarioSettings
from zerospof.chaos.verdict import experiment_conditions, harness_error, scenario_report
from zerospof.component_logs import COLLECTED_FILE, write_collected
from zerospof.drivers import driver_for
from zerospof.errors import EXIT_ERROR, ConfigError, SafetyRefusal, TargetDown, TargetError, ZerospofError, exit_code
from zerospof.faults.runner import Interrupted, revert_leftovers
from zerospof.objectives import Objectives
from zerospof.scenario import AVAILABILITY, Monitoring
from zerospof.timeline import EventKind, Timeline

__all__ = ["before_experiment_control", "after_experiment_control", "wait_ready"]

_runs: dict[str, _Run] = {}  # the control's own bookkeeping between its two hooks, keyed by run id


@dataclass
class _Run:
    settings: ScenarioSettings
    objectives: Objectives
    timeline: Timeline
    monitoring: Monitoring
    guard_stop: threading.Event = field(default_factory=threading.Event)
    previous_sigterm: Any = None


def run_monitoring(run_id: str) -> Monitoring | None:
    """The monitoring of the run ``run_id`` while it is running in this process (its activities read it)."""
    run = _runs.get(run_id)
    return run.monitoring if run is not None else None


def run_users(run_id: str) -> tuple[Timeline, float] | None:
    """The timeline of the run ``run_id`` and its slow-request limit while it runs in this process (an activity
    reads the users' samples from it)."""
    run = _runs.get(run_id)
    return (run.timeline, run.objectives.slow_request_s) if run is not None else None


def wait_ready(driver: Any, timeout_s: float) -> None:
    """Wait (bounded) until the target is healthy and in its reference state, e.g. still healing from
    the previous scenario; then raise, naming what is not ready."""
    deadline = time.monotonic() + timeout_s
    in_a_row = 0  # a target that just switched over can look ready for a moment: ask twice, a second apart
    while True:
        try:
            driver.check_ready()
            ready = driver.restore() and driver.healthy()
        except (TargetDown, SafetyRefusal, ConfigError):
            raise  # waiting does not help
        except ZerospofError:
            if time.monotonic() >= deadline:
                raise
            ready = False
        in_a_row = in_a_row + 1 if ready else 0
        if in_a_row == 2:
            return
        if time.monotonic() >= deadline:
            raise TargetError(f"healthy but not back in its reference state after {timeout_s:g}s")
        time.sleep(1.0 if in_a_row else 0.5)


def before_experiment_control(context: dict[str, Any], configuration: dict[str, Any] | None = None,
                              secrets: Any = None, **kwargs: Any) -> None:
    """Validate, wait for a ready target, start the monitors and the abort guard; fail closed.

    Any error here (settings, objectives, target, monitors) interrupts the experiment before its
    method runs: chaoslib swallows a control's other errors, and the fault would then run
    unobserved and unguarded. The error is printed and kept for the after-hook's report.
    """
    try:
        _start(context, configuration)
    except InterruptExecution as exc:
        _failed_to_start(configuration, str(exc), exc)
        raise
    except Exception as exc:  # noqa: BLE001 - every set-up error must stop the run, whatever its type
        message = f"no fault injected: {type(exc).__name__}: {exc}"
        _failed_to_start(configuration, message, exc)
        raise InterruptExecution(message) from exc


def _failed_to_start(configuration: dict[str, Any] | None, message: str, error: BaseException) -> None:
    """Print and keep the cause; under ``chaos run``, exit 2 for bad input (a ConfigError, also as the cause of
    an interruption), else 3."""
    cause = error.__cause__ if isinstance(error.__cause__, ZerospofError) else error
    exit_chaos_run_with(exit_code(cause))
    print(f"zerospof: {message}", file=sys.stderr, flush=True)
    if isinstance(configuration, dict):
        configuration["zerospof_setup_error"] = message


def _start(context: dict[str, Any], configuration: dict[str, Any] | None) -> None:
    settings = ScenarioSettings.from_configuration(configuration, context.get("title", "experiment"))
    objectives = settings.objectives()  # refusing stops the run before the method (chaoslib swallows other errors)
    driver = driver_for(settings.target)
    try:
        wait_ready(driver, settings.ready_timeout_s)
    except ZerospofError as exc:
        raise InterruptExecution(f"the target is not ready, no fault injected: {exc}") from exc
    timeline = Timeline(path=settings.run_dir / "timeline.jsonl")  # streamed as recorded: flat memory
    monitoring = None
    try:
        monitoring = driver.monitoring(settings.scenario, timeline, objectives, settings.run_id,
                                       options=settings.fault_options)
        for sampler in monitoring.samplers:
            sampler.max_duration_s = settings.max_observation_s
            sampler.start()
    except Exception as exc:
        for sampler in monitoring.samplers if monitoring is not None else []:
            sampler.stop()
        timeline.close()
        settings.run_dir.joinpath("timeline.jsonl").unlink(missing_ok=True)  # nothing was observed
        raise InterruptExecution(f"the monitors could not start, no fault injected: {type(exc).__name__}: {exc}") from exc
    run = _Run(settings, objectives, timeline, monitoring)
    threading.Thread(target=_abort_guard, args=(run,), name="abort-guard", daemon=True).start()
    if threading.current_thread() is threading.main_thread():
        run.previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
    _runs[settings.run_id] = run
    time.sleep(settings.baseline_s)  # a baseline of normal traffic before anything happens


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def _abort_guard(run: _Run) -> None:
    """Revert the run's faults when availability stays below the floor for longer than the limit.

    The limits are the stricter of the experiment's and the target's own (``Monitoring``).
    """
    settings, monitoring = run.settings, run.monitoring
    floor = max(settings.abort_floor, monitoring.abort_floor if monitoring.abort_floor is not None else 0.0)
    after_s = min(settings.abort_after_s,
                  monitoring.abort_after_s if monitoring.abort_after_s is not None else settings.abort_after_s)
    while not run.guard_stop.wait(0.5):
        now = time.monotonic()
        recent = run.timeline.samples_of(AVAILABILITY, since=now - after_s)
        if not recent or recent[0].t_mono > now - after_s + 1.0:
            continue  # not yet observed for the whole limit
        ratio = sum(s.ok for s in recent) / len(recent)
        if ratio < floor and settings.ledger.open_records(settings.run_id):
            run.timeline.event(EventKind.ABORTED, "abort-guard", availability=ratio, floor=floor, after_s=after_s)
            settings.ledger.revert_open(settings.run_id)
            return


def after_experiment_control(context: dict[str, Any], state: dict[str, Any],
                             configuration: dict[str, Any] | None = None, secrets: Any = None,
                             **kwargs: Any) -> None:
    error = (configuration or {}).get("zerospof_setup_error")
    try:
        settings = ScenarioSettings.from_configuration(configuration, context.get("title", "experiment"))
    except ZerospofError as exc:
        error = error or f"{type(exc).__name__}: {exc}"
        settings = None
    run = _runs.pop(settings.run_id, None) if settings is not None else None
    if run is None:  # nothing was measured: never a verdict, never a completed run
        state["zerospof"] = {"passed": False, "error": error or "the measurement control did not run"}
        if state.get("status") == "completed":
            state["status"] = "failed"
        exit_chaos_run_with(EXIT_ERROR)  # unless the set-up already chose (2 for bad input)
        return
    try:
        time.sleep(settings.settle_s)
    finally:
        run.guard_stop.set()
        for sampler in run.monitoring.samplers:
            sampler.stop()
        for hook in run.monitoring.stop_hooks:
            hook()
        if run.previous_sigterm is not None:
            signal.signal(signal.SIGTERM, run.previous_sigterm)
    _add_fault_events(run)
    _add_journal_events(run.timeline, state, run.monitoring.rpo_probe)
    report = scenario_report(run.timeline, run.objectives, settings.scenario, run.monitoring,
                             experiment_conditions(state, run.timeline, settings))
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    run.timeline.write_jsonl(settings.run_dir / "timeline.jsonl")  # the file it streamed to: flushed
    run.timeline.close()
    (settings.run_dir / "measurements.json").write_text(json.dumps(report, indent=2, default=str))
    report.update(run_id=settings.run_id, run_dir=str(settings.run_dir))
    state["zerospof"] = report
    add_objective_probes(state, report)  # journal readers (chaos report) see each objective as a probe
    if not report["passed"]:
        state["status"] = "failed"
    revert_leftovers(settings.ledger, settings.run_id)  # whatever the rollbacks did (even none), nothing stays injected
    _collect_component_logs(run, report.get("t0_wall"))  # reads only, once nothing is injected any more
    if harness_error(state, None) is not None:
        exit_chaos_run_with(EXIT_ERROR)  # nothing was judged: a harness or target error, not an objective missed


def _collect_component_logs(run: _Run, t0_wall: float | None) -> None:
    """Read what the target's components recorded around t0 into ``component_logs.json`` (the report shows it)."""
    read = run.monitoring.component_logs
    if read is not None and t0_wall is not None:  # a source that cannot be read is kept with its reason
        write_collected(run.settings.run_dir / COLLECTED_FILE, t0_wall, read(t0_wall))


_STEP_EVENTS = {
    "injecting": EventKind.FAULT_INJECTING,
    "injected": EventKind.FAULT_INJECTED,
    "verified": EventKind.FAULT_VERIFIED,
    "reverting": EventKind.FAULT_REVERTING,
    "reverted": EventKind.FAULT_REVERTED,
}


def _add_fault_events(run: _Run) -> None:
    """The fault's steps, as the ledger recorded them (the ledger is the one link to the fault)."""
    for record in run.settings.ledger.run_records(run.settings.run_id):
        for step in record.data.get("steps", []):
            kind = _STEP_EVENTS.get(step["state"])
            if kind is not None and "t_mono" in step:
                run.timeline.event(kind, record.data["description"], t_mono=step["t_mono"], t_wall=step["t_wall"],
                                   record=record.id)


def _add_journal_events(timeline: Timeline, journal: dict[str, Any], rpo_probe: str | None) -> None:
    """Events the activities reported; a canary read-back is the read-back of the run's RPO canary."""
    for activity_run in journal.get("run", []) + journal.get("rollbacks", []):
        output = activity_run.get("output")
        if isinstance(output, dict) and isinstance(output.get("zerospof_event"), dict):
            event = output["zerospof_event"]
            data = dict(event.get("data", {}))
            if event["kind"] == EventKind.CANARY_READBACK and rpo_probe is not None:
                data["probe"] = rpo_probe
            timeline.event(event["kind"], activity_run["activity"].get("name", ""), t_mono=event["t_mono"],
                           t_wall=event.get("t_wall"), **data)
