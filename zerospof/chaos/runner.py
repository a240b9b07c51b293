"""Run one experiment file through chaoslib (as ``chaos run`` would) and collect its result.

A result's :attr:`ScenarioResult.outcome` tells the platform from the harness: ``met`` / ``missed``
(the objectives judged the platform) or ``error`` (a harness or target error: no credentials, the
target not ready or unreachable, a safety guard refused, the fault could not be injected, the time
limit fired): then :attr:`ScenarioResult.error` holds the root cause and nothing was judged.

Every run has a time limit derived from the experiment's own bounds (:func:`time_limits`). When it
fires, the run is interrupted as a runner's SIGTERM would (the rollbacks play); and whatever ends
the run (an exception, KeyboardInterrupt, pytest's timeout), every fault of the run still open in
the ledger is reverted before the error propagates.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zerospof.chaos.settings import ScenarioSettings, new_run_id
from zerospof.chaos.verdict import harness_error
from zerospof.faults.runner import revert_leftovers
from zerospof.timeline import Timeline
from zerospof.units import parse_duration_s
from zerospof.validate import validate_experiment

__all__ = ["ScenarioResult", "TimeLimitExceeded", "chaos_settings", "experiment_path", "run_experiment_file",
           "time_limits", "limit_from", "SETTINGS_ENV"]

REPO = Path(__file__).resolve().parents[2]
SETTINGS_ENV = "ZEROSPOF_CHAOS_SETTINGS"  # the Chaos Toolkit settings file (default ~/.chaostoolkit/settings.yaml)
VERIFY_S = 10.0  # inject_fault verifies for at most this long
LIMIT_MARGIN_S = 120.0  # set-up, steady-state probes, canary commits and read-backs, chaoslib's own work
DEFAULT_ROLLBACK_WAIT_S = 120.0  # wait_until_healthy's default timeout_s


def experiment_path(target_kind: str, scenario: str) -> Path:
    """``experiments/<target kind>/<scenario>.yaml`` of this repository."""
    return REPO / "experiments" / target_kind / f"{scenario}.yaml"


@dataclass(frozen=True)
class ScenarioResult:
    """What one scenario run left: the journal, the report (measurements + verdict), the timeline.

    ``error``: the root cause when the run ended in a harness or target error (nothing judged).
    """

    scenario: str
    run_dir: Path
    journal: dict[str, Any]
    report: dict[str, Any]
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.report.get("passed"))

    @property
    def outcome(self) -> str:
        """``met``, ``missed`` or ``error`` (exit codes 0, 1, 3)."""
        return "error" if self.error is not None else "met" if self.passed else "missed"

    def timeline(self) -> Timeline:
        return Timeline.read_jsonl(self.run_dir / "timeline.jsonl")


class TimeLimitExceeded(Exception):
    """The run's time limit fired (the run was interrupted and its faults reverted)."""


def time_limits(experiment: dict[str, Any], settings: ScenarioSettings) -> tuple[float, float]:
    """``(graceful, hard)``: how long a run of ``experiment`` may take, from its own bounds.

    Graceful: readiness wait + baseline + fault verification + recovery wait + settle + every
    method activity's own ``timeout`` + a margin for probes and chaoslib's work; the run is
    interrupted then (SIGTERM semantics: the rollbacks play). Hard: graceful + every rollback's
    bound (its ``timeout_s`` argument; ``wait_until_healthy`` 120 s by default) + the margin again,
    which is what an outer limit (pytest-timeout in the gate, a CI job's timeout) must allow.
    """
    method = settings.ready_timeout_s + settings.baseline_s + VERIFY_S + settings.recovery_timeout_s + settings.settle_s
    rollbacks = 0.0
    for activity in experiment.get("method", []) or []:
        if isinstance(activity.get("timeout"), (int, float)):
            method += float(activity["timeout"])
    for activity in experiment.get("rollbacks", []) or []:
        provider = activity.get("provider") or {}
        arguments = provider.get("arguments") or {}
        if "timeout_s" in arguments:
            rollbacks += float(arguments["timeout_s"])
        elif provider.get("func") == "wait_until_healthy":
            rollbacks += DEFAULT_ROLLBACK_WAIT_S
        if isinstance(activity.get("timeout"), (int, float)):
            rollbacks += float(activity["timeout"])
    graceful = method + LIMIT_MARGIN_S
    return graceful, graceful + rollbacks + LIMIT_MARGIN_S


def chaos_settings() -> dict[str, Any]:
    """The user's Chaos Toolkit settings (``$ZEROSPOF_CHAOS_SETTINGS`` or ``~/.chaostoolkit/settings.yaml``),
    with the rollback strategy forced to ``always`` (faults are reverted on failed and interrupted runs too).

    Global controls, notifications and other keys of the file apply as in ``chaos run``.
    """
    from chaoslib.settings import CHAOSTOOLKIT_CONFIG_PATH, load_settings

    from zerospof.errors import ConfigError

    path = os.environ.get(SETTINGS_ENV) or CHAOSTOOLKIT_CONFIG_PATH
    if os.environ.get(SETTINGS_ENV) and not Path(path).is_file():
        raise ConfigError(path, "", f"no such Chaos Toolkit settings file (from ${SETTINGS_ENV})")
    settings = load_settings(path) or {}
    if not isinstance(settings, dict):
        raise ConfigError(path, "", "a Chaos Toolkit settings file must be a mapping", type(settings).__name__)
    runtime = settings.setdefault("runtime", {})
    runtime.setdefault("rollbacks", {})["strategy"] = "always"
    runtime.setdefault("hypothesis", {}).setdefault("strategy", "default")
    return settings


class _Interruptions(logging.Handler):
    """Keep what chaoslib logs when it interrupts a run: ``logger.fatal(str(InterruptExecution))`` (the
    cause, e.g. the target not ready) and its warnings on Ctrl-C, SIGTERM and exit signals."""

    SIGNALS = ("Received a termination signal", "Caught SIGTERM signal", "Received the exit signal")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.signalled = False

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.CRITICAL:
            self.messages.append(message)
        elif message.startswith(self.SIGNALS):
            self.signalled = True

    def cause(self) -> str | None:
        if self.messages:
            return self.messages[0]
        return "the run was interrupted by a signal (Ctrl-C or SIGTERM)" if self.signalled else None


@contextmanager
def _deadline(limit_s: float | None) -> Iterator[threading.Event]:
    """Deliver SIGTERM to the main thread after ``limit_s`` (the run's own, graceful time limit).

    Around the run, SIGTERM is ours: chaoslib installs its own handler for the run and restores ours
    afterwards, so a deadline firing just as the run ends is ignored instead of killing the process
    (an outside SIGTERM then raises :class:`~zerospof.faults.runner.Interrupted`).
    """
    from zerospof.faults.runner import Interrupted

    fired = threading.Event()
    if limit_s is None or threading.current_thread() is not threading.main_thread():
        yield fired
        return
    main = threading.main_thread().ident

    def fire() -> None:
        fired.set()
        signal.pthread_kill(main, signal.SIGTERM)

    def late(signum: int, frame: Any) -> None:
        if not fired.is_set():
            raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, late)
    timer = threading.Timer(limit_s, fire)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)


def _revert_leftovers(settings: ScenarioSettings) -> None:
    """Backstop when the run ended by an exception chaoslib did not handle: stop the monitors, revert the run's faults."""
    from zerospof.chaos.control import run_monitoring

    monitoring = run_monitoring(settings.run_id)
    if monitoring is not None:
        for sampler in monitoring.samplers:
            sampler.stop()
    settings.ledger.revert_open(settings.run_id)


def run_experiment_file(path: str | Path, configuration: dict[str, Any],
                        limit_s: float | None = None) -> ScenarioResult:
    """Validate and run the experiment at ``path`` with ``configuration`` overriding its own keys.

    Rollbacks are played whatever happens (strategy ``always``); the user's Chaos Toolkit settings
    apply (:func:`chaos_settings`). The journal is written to ``<run dir>/journal.json``. The run is
    interrupted after ``limit_s`` (default: the graceful bound of :func:`time_limits`). On any exception chaoslib does not
    handle (pytest's timeout, a second Ctrl-C), the run's open faults are reverted before it propagates.
    """
    from chaoslib.control import load_global_controls
    from chaoslib.run import Runner
    from chaoslib.types import Strategy

    experiment = validate_experiment(path)
    config = experiment.setdefault("configuration", {})
    config.update(configuration)
    config.setdefault("zerospof_run_id", new_run_id())
    config.setdefault("zerospof_run_dir", str(Path("reports") / config["zerospof_run_id"] / str(config.get("zerospof_scenario"))))
    scenario_settings = ScenarioSettings.from_configuration(config, str(path))
    limit_s = limit_s if limit_s is not None else time_limits(experiment, scenario_settings)[0]
    settings = chaos_settings()
    load_global_controls(settings)  # as `chaos run` does: notifications, tracing, ... of the user's settings
    chaos_logger = logging.getLogger("chaostoolkit")
    chaos_logger.setLevel(logging.INFO)
    interruptions = _Interruptions()
    chaos_logger.addHandler(interruptions)
    try:
        with _deadline(limit_s) as fired, Runner(Strategy.DEFAULT) as runner:
            journal = runner.run(experiment, settings=settings)
    except BaseException:
        _revert_leftovers(scenario_settings)
        raise
    finally:
        chaos_logger.removeHandler(interruptions)
    # whatever the experiment's rollbacks did (even `rollbacks: []`), nothing zerospof injected stays
    leftovers = revert_leftovers(scenario_settings.ledger, scenario_settings.run_id)
    run_dir = Path(config["zerospof_run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "journal.json").write_text(json.dumps(journal, indent=2, default=str))
    if fired.is_set():
        interruptions.messages.insert(0, f"the run's time limit ({limit_s:g}s, from the experiment's own bounds) "
                                         "fired; the run was interrupted and its faults reverted")
    error = harness_error(journal, interruptions.cause(), interrupted=interruptions.signalled or fired.is_set())
    report = journal.get("zerospof") or {
        "scenario": config.get("zerospof_scenario"), "passed": False, "checks": [], "conditions": [],
    }
    if leftovers:  # the experiment left a fault in place: it fails, and says what the runner reverted
        report = {**report, "passed": False, "reverted_after_the_run": [
            f"{r.description}: {'reverted' if r.reverted else 'FAILED: ' + str(r.error)}" for r in leftovers]}
    if error is not None:
        report["error"] = f"harness or target error: {error}"
    return ScenarioResult(str(config.get("zerospof_scenario")), run_dir, journal, report, error)


def limit_from(value: str | float | None) -> float | None:
    """Parse a ``--time-limit`` value (``"15min"``, ``"900"``, 900) into seconds; None stays None."""
    return None if value is None else parse_duration_s(value)
