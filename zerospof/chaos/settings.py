"""Read the ``zerospof_*`` keys of an experiment's configuration into one validated record.

One declarative schema, :class:`ZerospofConfiguration` (pydantic), says what each key accepts; every
problem in a configuration is reported at once (file, ``configuration.<key>``, value), and the same
schema is exported as JSON Schema for editors (``python -m zerospof.chaos.settings``, committed as
``schemas/experiment.schema.json``).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from chaoslib.exceptions import InterruptExecution
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from zerospof.errors import ConfigError
from zerospof.faults import Ledger
from zerospof.objectives import SCENARIOS, Objectives, load_objectives
from zerospof.schema import Duration, validate_model

__all__ = ["KEYS", "ConfigurationRefused", "ScenarioSettings", "ZerospofConfiguration", "check_configuration",
           "experiment_json_schema", "new_run_id"]


class ConfigurationRefused(ConfigError, InterruptExecution):
    """``zerospof_*`` configuration values are unknown or invalid; ``errors`` lists every one (the first is this).

    Also an InterruptExecution: chaoslib swallows any other error a control raises, so under a plain
    ``chaos run`` the measurement control's refusal would not stop the fault; this one stops the run
    before the method.
    """


PathText = Annotated[str, StringConstraints(min_length=1)]
RunId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]


class ZerospofConfiguration(BaseModel):
    """The ``zerospof_*`` keys of an experiment's ``configuration`` (other keys are chaoslib's and the user's)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="zerospof experiment configuration")

    zerospof_scenario: Literal[SCENARIOS]  # type: ignore[valid-type]
    zerospof_target: PathText = Field("lab", description="'lab' or the path of a target file")
    zerospof_objectives: PathText = "objectives.yaml"
    zerospof_run_id: RunId | None = Field(None, description="letters, digits, '.', '_', '-': it names a directory")
    zerospof_run_dir: PathText | None = None
    zerospof_ledger_dir: PathText | None = None
    zerospof_recovery_timeout: Duration = Field("3min", validate_default=True)
    zerospof_abort_floor: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True,
                                                 description="abort when availability stays below this ratio")] = 0.5
    zerospof_abort_after: Duration = Field("6min", validate_default=True)
    zerospof_fault_options: dict[str, Any] | None = None
    zerospof_settle: Duration = Field("3s", validate_default=True)
    zerospof_baseline: Duration = Field("3s", validate_default=True)
    zerospof_ready_timeout: Duration = Field("90s", validate_default=True)
    zerospof_max_observation: Annotated[Duration, Field(gt=0, description="the samplers stop by themselves after "
                                                        "this, should the run never end them")] = Field(
        "4h", validate_default=True)
    zerospof_setup_error: str | None = Field(None, description="set by the measurement control when it failed to "
                                             "start (not for users): the after-hook reports it")


KEYS = tuple(ZerospofConfiguration.model_fields)


def _read(configuration: dict[str, Any], source: str) -> ZerospofConfiguration:
    """Validate the ``zerospof_*`` keys of ``configuration``; ConfigurationRefused lists every problem at once."""
    ours = {key: value for key, value in configuration.items() if str(key).startswith("zerospof_")}
    try:
        return validate_model(ZerospofConfiguration, ours, source, prefix="configuration")
    except ConfigError as exc:
        raise ConfigurationRefused(exc.path, exc.key, exc.detail, exc.value, tuple(exc.errors[1:])) from exc


def check_configuration(configuration: object, source: str = "experiment") -> None:
    """Refuse an experiment ``configuration`` whose ``zerospof_*`` keys are unknown or whose values are invalid,
    reporting every problem at once. Changes nothing. Values chaoslib resolves at run time
    (``{type: env, key: ...}``) are checked once resolved."""
    if configuration is None:
        configuration = {}
    if not isinstance(configuration, dict):
        raise ConfigurationRefused(source, "configuration", "expected a mapping", configuration)
    _read({key: value for key, value in configuration.items() if not _dynamic(value)}, source)


def _dynamic(value: object) -> bool:
    """A Chaos Toolkit value resolved at run time (``{type: env, key: ...}``)."""
    return isinstance(value, dict) and "type" in value and "key" in value


def experiment_json_schema() -> dict[str, Any]:
    """JSON Schema of an experiment file as zerospof requires it, for editors (its configuration from the model)."""
    configuration = ZerospofConfiguration.model_json_schema()
    configuration.pop("additionalProperties", None)  # other configuration keys are chaoslib's and the user's
    configuration["propertyNames"] = {"anyOf": [{"enum": list(KEYS)}, {"not": {"pattern": "^zerospof_"}}]}
    control = {"type": "object", "required": ["provider"], "properties": {"provider": {
        "type": "object", "required": ["type", "module"],
        "properties": {"type": {"const": "python"}, "module": {"const": "zerospof.chaos.control"}}}}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "zerospof experiment (a Chaos Toolkit experiment with zerospof's rules)",
        "type": "object",
        "required": ["title", "description", "method", "controls", "configuration", "runtime"],
        "properties": {
            "configuration": configuration,
            "controls": {"type": "array", "contains": control},
            "method": {"type": "array", "minItems": 1, "items": {"type": "object"}},
            "rollbacks": {"type": "array", "items": {"type": "object"}},
            "runtime": {"type": "object", "required": ["rollbacks"], "properties": {"rollbacks": {
                "type": "object", "required": ["strategy"], "properties": {"strategy": {"const": "always"}}}}},
        },
    }


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

    def objectives(self) -> Objectives:
        """Load the objectives file and check it names this scenario; raise ConfigurationRefused otherwise (which,
        raised from the measurement control, stops a ``chaos run`` before the method)."""
        try:
            objectives = load_objectives(self.objectives_path)
        except ConfigError as exc:
            raise ConfigurationRefused(exc.path, exc.key, exc.detail, exc.value, tuple(exc.errors[1:])) from exc
        if self.scenario not in objectives.scenarios:
            raise ConfigurationRefused(str(self.objectives_path), f"scenarios.{self.scenario}",
                                       "no objectives for this scenario")
        return objectives

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any] | None, source: str = "experiment") -> ScenarioSettings:
        """Validate and read the ``zerospof_*`` keys; fill in the run id and run dir in ``configuration``."""
        configuration = configuration if configuration is not None else {}
        read = _read(configuration, source)
        run_id = configuration.setdefault("zerospof_run_id", new_run_id())
        run_dir = configuration.setdefault("zerospof_run_dir", str(Path("reports") / run_id / read.zerospof_scenario))
        return cls(
            scenario=read.zerospof_scenario,
            target=read.zerospof_target,
            objectives_path=Path(read.zerospof_objectives),
            run_id=run_id,
            run_dir=Path(run_dir),
            ledger_dir=Path(read.zerospof_ledger_dir) if read.zerospof_ledger_dir else None,
            recovery_timeout_s=read.zerospof_recovery_timeout,
            abort_floor=read.zerospof_abort_floor,
            abort_after_s=read.zerospof_abort_after,
            settle_s=read.zerospof_settle,
            baseline_s=read.zerospof_baseline,
            ready_timeout_s=read.zerospof_ready_timeout,
            max_observation_s=read.zerospof_max_observation,
            fault_options=dict(read.zerospof_fault_options or {}),
        )


if __name__ == "__main__":  # python -m zerospof.chaos.settings > schemas/experiment.schema.json
    json.dump(experiment_json_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
