"""Read the ``zerospof_*`` keys of an experiment's configuration into one validated record."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zerospof.errors import ConfigError
from zerospof.faults import Ledger
from zerospof.objectives import SCENARIOS
from zerospof.units import parse_duration_s

__all__ = ["ScenarioSettings", "new_run_id"]

KEYS = ("zerospof_scenario", "zerospof_target", "zerospof_objectives", "zerospof_run_id", "zerospof_run_dir",
        "zerospof_ledger_dir", "zerospof_recovery_timeout", "zerospof_abort_floor", "zerospof_abort_after",
        "zerospof_fault_options", "zerospof_settle", "zerospof_baseline", "zerospof_ready_timeout",
        "zerospof_max_observation",
        "zerospof_setup_error")  # the last: set by the measurement control when it failed to start


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
    max_observation_s: float  # the samplers stop by themselves after this, should the run never end them
    fault_options: dict[str, Any]

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.ledger_dir)

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any] | None, source: str = "experiment") -> ScenarioSettings:
        """Validate and read the ``zerospof_*`` keys; fill in the run id and run dir in ``configuration``."""
        configuration = configuration if configuration is not None else {}
        unknown = sorted(key for key in configuration if str(key).startswith("zerospof_") and key not in KEYS)
        if unknown:
            raise ConfigError(source, f"configuration.{unknown[0]}",
                              f"unknown zerospof key; known: {', '.join(KEYS[:-1])}", configuration[unknown[0]])
        scenario = configuration.get("zerospof_scenario")
        if scenario not in SCENARIOS:
            raise ConfigError(source, "configuration.zerospof_scenario",
                              f"expected one of: {', '.join(SCENARIOS)}", scenario)
        run_id = configuration.setdefault("zerospof_run_id", new_run_id())
        run_dir = Path(configuration.setdefault("zerospof_run_dir", str(Path("reports") / run_id / scenario)))

        def duration(key: str, default: str) -> float:
            try:
                return parse_duration_s(configuration.get(key, default))
            except ValueError as exc:
                raise ConfigError(source, f"configuration.{key}", str(exc), configuration.get(key)) from exc

        def positive(value: float, key: str) -> float:
            if value <= 0:
                raise ConfigError(source, f"configuration.{key}", "expected a duration above 0",
                                  configuration.get(key))
            return value

        floor = configuration.get("zerospof_abort_floor", 0.5)
        if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 1:
            raise ConfigError(source, "configuration.zerospof_abort_floor", "expected a ratio between 0 and 1", floor)
        options = configuration.get("zerospof_fault_options", {}) or {}
        if not isinstance(options, dict):
            raise ConfigError(source, "configuration.zerospof_fault_options", "expected a mapping", options)
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
            max_observation_s=positive(duration("zerospof_max_observation", "4h"), "zerospof_max_observation"),
            fault_options=options,
        )
