"""Read the ``zerospof_*`` keys of an experiment's configuration into one validated record."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoslib.exceptions import InterruptExecution

from zerospof.errors import ConfigError
from zerospof.faults import Ledger
from zerospof.objectives import SCENARIOS, Objectives, load_objectives
from zerospof.units import parse_duration_s

__all__ = ["KEYS", "ConfigurationRefused", "ScenarioSettings", "check_configuration", "new_run_id"]

KEYS = ("zerospof_scenario", "zerospof_target", "zerospof_objectives", "zerospof_run_id", "zerospof_run_dir",
        "zerospof_ledger_dir", "zerospof_recovery_timeout", "zerospof_abort_floor", "zerospof_abort_after",
        "zerospof_fault_options", "zerospof_settle", "zerospof_baseline", "zerospof_ready_timeout")


class ConfigurationRefused(ConfigError, InterruptExecution):
    """A ``zerospof_*`` configuration value is unknown or invalid.

    Also an InterruptExecution: chaoslib swallows any other error a control raises, so under a plain
    ``chaos run`` the measurement control's refusal would not stop the fault; this one stops the run
    before the method.
    """


_PATH_KEYS = ("zerospof_target", "zerospof_objectives", "zerospof_run_dir", "zerospof_ledger_dir")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", re.ASCII)


def check_configuration(configuration: object, source: str = "experiment") -> None:
    """Refuse an experiment ``configuration`` whose ``zerospof_*`` keys are unknown or whose values are invalid.

    Changes nothing (the run id and run dir are filled in by :meth:`ScenarioSettings.from_configuration`).
    """
    if configuration is None:
        configuration = {}
    if not isinstance(configuration, dict):
        raise ConfigurationRefused(source, "configuration", "expected a mapping", configuration)
    for key, value in configuration.items():
        if key in _PATH_KEYS and not (isinstance(value, str) and value.strip()) and not _dynamic(value):
            raise ConfigurationRefused(source, f"configuration.{key}", "expected a path", value)
    run_id = configuration.get("zerospof_run_id")
    if run_id is not None and not _dynamic(run_id) and not (isinstance(run_id, str) and _RUN_ID.fullmatch(run_id)):
        raise ConfigurationRefused(source, "configuration.zerospof_run_id",
                          "expected letters, digits, '.', '_' or '-' (it names a directory)", run_id)
    static = {key: value for key, value in configuration.items() if not _dynamic(value) or key == "zerospof_fault_options"}
    ScenarioSettings.from_configuration(static, source)


def _dynamic(value: object) -> bool:
    """A Chaos Toolkit value resolved at run time (``{type: env, key: ...}``): checked once resolved."""
    return isinstance(value, dict) and "type" in value and "key" in value


def new_run_id() -> str:
    """A sortable, unique run id such as ``20261126T214300-1a2b3c``."""
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class ScenarioSettings:
    """What one scenario run needs to know, from the experiment's ``configuration``."""

    scenario: str
    target: str
    objectives_path: Path
    run_id: str
    run_dir: Path
    ledger_dir: Path | None
    recovery_timeout_s: float
    abort_floor: float  # abort when availability stays below this ratio ...
    abort_after_s: float  # ... for longer than this
    settle_s: float  # keep observing this long after the revert
    baseline_s: float  # observe this long before the steady-state check and the fault
    ready_timeout_s: float  # wait at most this long for a healthy target in its reference state
    fault_options: dict[str, Any]

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.ledger_dir)

    def objectives(self) -> Objectives:
        """Load the objectives file and check it names this scenario; raise ConfigurationRefused otherwise (which,
        raised from the measurement control, stops a ``chaos run`` before the method)."""
        try:
            objectives = load_objectives(self.objectives_path)
        except ConfigError as exc:
            raise ConfigurationRefused(exc.path, exc.key, exc.detail, exc.value) from exc
        if self.scenario not in objectives.scenarios:
            raise ConfigurationRefused(str(self.objectives_path), f"scenarios.{self.scenario}",
                                       "no objectives for this scenario")
        return objectives

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any] | None, source: str = "experiment") -> ScenarioSettings:
        """Validate and read the ``zerospof_*`` keys; fill in the run id and run dir in ``configuration``."""
        configuration = configuration if configuration is not None else {}
        for key, value in configuration.items():  # a misspelt key would otherwise be ignored silently
            if str(key).startswith("zerospof_") and key not in KEYS:
                raise ConfigurationRefused(source, f"configuration.{key}",
                                  f"unknown zerospof key; expected one of: {', '.join(KEYS)}", value)
        scenario = configuration.get("zerospof_scenario")
        if scenario not in SCENARIOS:
            raise ConfigurationRefused(source, "configuration.zerospof_scenario",
                              f"expected one of: {', '.join(SCENARIOS)}", scenario)
        run_id = configuration.setdefault("zerospof_run_id", new_run_id())
        run_dir = Path(configuration.setdefault("zerospof_run_dir", str(Path("reports") / run_id / scenario)))

        def duration(key: str, default: str) -> float:
            try:
                return parse_duration_s(configuration.get(key, default))
            except ValueError as exc:
                raise ConfigurationRefused(source, f"configuration.{key}", str(exc), configuration.get(key)) from exc

        floor = configuration.get("zerospof_abort_floor", 0.5)
        if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 1:
            raise ConfigurationRefused(source, "configuration.zerospof_abort_floor", "expected a ratio between 0 and 1", floor)
        options = configuration.get("zerospof_fault_options", {}) or {}
        if not isinstance(options, dict):
            raise ConfigurationRefused(source, "configuration.zerospof_fault_options", "expected a mapping", options)
        ledger_dir = configuration.get("zerospof_ledger_dir")
        return cls(
            scenario=scenario,
            target=str(configuration.get("zerospof_target", "lab")),
            objectives_path=Path(configuration.get("zerospof_objectives", "objectives.yaml")),
            run_id=run_id,
            run_dir=run_dir,
            ledger_dir=Path(ledger_dir) if ledger_dir else None,
            recovery_timeout_s=duration("zerospof_recovery_timeout", "3min"),
            abort_floor=float(floor),
            abort_after_s=duration("zerospof_abort_after", "6min"),
            settle_s=duration("zerospof_settle", "3s"),
            baseline_s=duration("zerospof_baseline", "3s"),
            ready_timeout_s=duration("zerospof_ready_timeout", "90s"),
            fault_options=options,
        )
