"""Load and validate the objectives file (``objectives.yaml``) into typed values.

One declarative schema, :class:`ObjectivesFile` (pydantic), says what each key accepts; every problem in a
file is reported at once (file, key path, value), and the same schema is exported as JSON Schema for
editors (``python -m zerospof.objectives``, committed as ``schemas/objectives.schema.json``).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, WithJsonSchema, create_model, \
    model_validator

from zerospof.schema import Duration, Percent, load_yaml_mapping, validate_model
from zerospof.units import DURATION_PATTERN, format_duration, parse_duration_s
from zerospof.verdict import Comparison, Objective

__all__ = [
    "SCENARIOS",
    "USER_PATHS",
    "Limit",
    "RecoveryMode",
    "ComponentObjectives",
    "ScenarioObjectives",
    "Objectives",
    "ObjectivesFile",
    "load_objectives",
    "objectives_json_schema",
    "parse_limit",
]

SCENARIOS = ("az-failure", "region-failure", "control-plane", "gitops")
COMPONENTS = ("load-balancers", "eks-control-plane", "data-plane", "gitops", "dns", "overall-system", "security")
USER_PATHS = ("reads", "writes")  # every path users have; measured apart, a scenario's headline is the worst
SCENARIO_LIMITS = {  # objectives-file key -> measurement name
    "detection": "detection_s",
    "downtime": "downtime_s",
    "rto": "rto_s",
    "rpo": "rpo_s",
    "deployment-delay": "deployment_delay_s",
}
DEFAULT_FAILURE_RATES = {  # ASSUMED failures per member per year, by member kind (zerospof spof's implied availability)
    "lb": 2.0, "app": 4.0, "kube-node": 4.0, "cp-etcd": 1.0, "cp-api": 2.0, "cp-scheduler": 2.0, "cp-cm": 2.0,
    "pg": 1.0, "etcd": 1.0,
    "dns": 1.0, "git": 1.0, "gitops": 2.0, "security": 1.0,
}
PATH_SCOPED = ("downtime", "rto")  # may be given per user path: {reads: "0", writes: "< 5min"}
DEFAULT_SLOW_REQUEST_S = 1.0  # a success slower than this failed its user (the 1 s limit of an uninterrupted flow)


class RecoveryMode(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"
    MANUAL_OR_AUTOMATIC = "manual-or-automatic"


@dataclass(frozen=True)
class Limit:
    """An upper bound on a duration in seconds: ``< 30s``, ``<= 5min``, or exactly ``0``."""

    comparison: Comparison
    value_s: float

    def __str__(self) -> str:
        if self.comparison is Comparison.EQ_ZERO:
            return "0"
        return f"{self.comparison.symbol} {format_duration(self.value_s)}"


_LIMIT = re.compile(r"^\s*(<=|<)?\s*(.+?)\s*$")
_OPERATORS = {"<": Comparison.LT, "<=": Comparison.LE}


def parse_limit(text: object) -> Limit:
    """Parse ``"< 30s"``, ``"<= 5min"``, ``"0"`` or ``0``. A bare value means ``<=``, except zero means ``==``."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = parse_duration_s(text)
        return Limit(Comparison.EQ_ZERO if seconds == 0 else Comparison.LE, seconds)
    match = _LIMIT.match(str(text))
    if match is None or not match.group(2):
        raise ValueError("expected a limit such as '< 30s', '<= 5min' or '0'")
    seconds = parse_duration_s(match.group(2))
    if match.group(1):
        comparison = _OPERATORS[match.group(1)]
    else:
        comparison = Comparison.EQ_ZERO if seconds == 0 else Comparison.LE
    if comparison is Comparison.LT and seconds == 0:
        raise ValueError("'< 0' can never be met; write '0' for exactly zero")
    return Limit(comparison, seconds)


def _parse_rate_hz(text: object) -> float:
    match = re.match(RATE_PATTERN, str(text))
    if match is None:
        raise ValueError("expected a rate such as '20/s' or '20Hz'")
    rate = float(match.group(1))
    if not 0 < rate <= 1000:
        raise ValueError("a rate must be above 0 and at most 1000/s")
    return rate


@dataclass(frozen=True)
class ComponentObjectives:
    name: str
    availability_pct: float
    rto: Limit
    rpo: Limit


@dataclass(frozen=True)
class ScenarioObjectives:
    """The documented targets of one failover scenario.

    ``limits`` maps measurement name -> Limit. A limit scoped to one user path is keyed
    ``<path>.<measurement>`` (``writes.downtime_s``); an unscoped ``downtime_s`` / ``rto_s``
    applies to every path (see :meth:`objectives`).
    """

    name: str
    limits: dict[str, Limit]
    recovery: RecoveryMode

    def names(self, measurement: str) -> bool:
        """Whether any limit (scoped or not) is on ``measurement`` (``downtime_s``, ``rpo_s``, ...)."""
        return any(key.rsplit(".", 1)[-1] == measurement for key in self.limits)

    def objectives(self, paths: tuple[str, ...] = (), per_path: tuple[str, ...] = ()) -> list[Objective]:
        """The limits as verdict objectives, one per measurement.

        An unscoped limit on a measurement in ``per_path`` becomes one objective per user path in
        ``paths`` (``reads.downtime_s``, ``writes.downtime_s``); a path-scoped limit is kept as is.
        """
        found = []
        for name, limit in self.limits.items():
            names = [f"{path}.{name}" for path in paths] if name in per_path and paths else [name]
            found += [Objective(each, limit.value_s, limit.comparison, unit="s") for each in names]
        return found


@dataclass(frozen=True)
class Objectives:
    source: str
    components: dict[str, ComponentObjectives]
    scenarios: dict[str, ScenarioObjectives]
    sustained_success_s: float = 5.0
    availability_rate_hz: float = 20.0  # the read path's rate
    write_rate_hz: float = 10.0
    slow_request_s: float = DEFAULT_SLOW_REQUEST_S
    failure_rates_per_year: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FAILURE_RATES))
    extra: dict[str, object] = field(default_factory=dict)

    def component(self, name: str) -> ComponentObjectives | None:
        """The components-table row ``name`` (a layer), or None when the file has none."""
        return self.components.get(name)

    def scenario(self, name: str) -> ScenarioObjectives:
        try:
            return self.scenarios[name]
        except KeyError:
            raise KeyError(f"{self.source}: no objectives for scenario {name!r}") from None


LIMIT_PATTERN = r"^\s*(<=|<)?" + DURATION_PATTERN.removeprefix("^")
LimitValue = Annotated[Any, BeforeValidator(parse_limit), WithJsonSchema({"anyOf": [
    {"type": "number", "minimum": 0}, {"type": "string", "pattern": LIMIT_PATTERN}],
    "description": "an upper bound: '< 30s', '<= 5min', or '0' for exactly zero"})]
RATE_PATTERN = r"^\s*(\d+(?:\.\d+)?)\s*(?:/s|hz|Hz)\s*$"
Rate = Annotated[float, BeforeValidator(_parse_rate_hz), WithJsonSchema({
    "type": "string", "pattern": RATE_PATTERN, "description": "a rate such as '20/s' or '20Hz' (at most 1000/s)"})]
PER_YEAR_PATTERN = r"^\s*(\d+(?:\.\d+)?)\s*/\s*(?:year|yr)\s*$"


def _per_year(text: object) -> float:
    match = re.match(PER_YEAR_PATTERN, str(text))
    if match is None:
        raise ValueError("expected a rate such as '2/year'")
    return float(match.group(1))


PerYear = Annotated[float, BeforeValidator(_per_year), WithJsonSchema({
    "type": "string", "pattern": PER_YEAR_PATTERN, "description": "failures per member per year, such as '2/year'"})]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class PathLimits(_Strict):
    """A limit per user path (``{reads: "0", writes: "< 5min"}``); at least one path."""

    reads: LimitValue = None
    writes: LimitValue = None

    @model_validator(mode="after")
    def _one_path_at_least(self) -> PathLimits:
        if not self.model_fields_set:
            raise ValueError(f"name at least one user path ({', '.join(USER_PATHS)})")
        return self


PathScoped = Annotated[Union[Annotated[PathLimits, Tag("<per-path>")], Annotated[LimitValue, Tag("<limit>")]],
                       Discriminator(lambda value: "<per-path>" if isinstance(value, dict) else "<limit>")]


class ScenarioModel(_Strict):
    """The documented targets of one failover scenario."""

    detection: LimitValue = Field(json_schema_extra={"description": "from t0 to the platform's own detection"})
    downtime: PathScoped = None
    rto: PathScoped = None
    rpo: LimitValue = None
    deployment_delay: LimitValue = Field(None, alias="deployment-delay")
    recovery: RecoveryMode


class ComponentModel(_Strict):
    """One row of the components table: a layer's availability, RTO and RPO."""

    availability: Percent
    rto: LimitValue
    rpo: LimitValue


class MeasurementModel(_Strict):
    sustained_success: Duration = Field(5.0, alias="sustained-success")
    read_rate: Rate | None = Field(None, alias="read-rate")
    availability_rate: Rate | None = Field(None, alias="availability-rate", description="the old name of read-rate")
    write_rate: Rate = Field(10.0, alias="write-rate")
    slow_request: Annotated[Duration, Field(gt=0)] = Field(DEFAULT_SLOW_REQUEST_S, alias="slow-request")

    @model_validator(mode="after")
    def _rate_once(self) -> MeasurementModel:
        if self.read_rate is not None and self.availability_rate is not None:
            raise ValueError("give the read path's rate once: read-rate (availability-rate is its old name)")
        return self


def _table(name: str, keys: tuple[str, ...], row: type) -> type[BaseModel]:
    """A mapping whose keys are ``keys`` (each optional; others are typos) and whose values are ``row``s."""
    fields: dict[str, Any] = {key.replace("-", "_"): (row | None, Field(None, alias=key)) for key in keys}
    return create_model(name, __base__=_Strict, **fields)


ComponentsModel = _table("ComponentsModel", COMPONENTS, ComponentModel)
ScenariosModel = _table("ScenariosModel", SCENARIOS, ScenarioModel)


class ObjectivesFile(_Strict):
    """The objectives file (``objectives.yaml``): what a run's measurements are judged against."""

    model_config = ConfigDict(title="zerospof objectives file")

    measurement: MeasurementModel = MeasurementModel()
    components: ComponentsModel  # type: ignore[valid-type]
    scenarios: ScenariosModel  # type: ignore[valid-type]
    failure_rates: dict[str, PerYear] = Field({}, alias="failure-rates")


def _given(table: BaseModel) -> dict[str, Any]:
    """The rows of a table the file gave, by their file names."""
    return {field.alias or name: getattr(table, name) for name, field in type(table).model_fields.items()
            if getattr(table, name) is not None}


def _scenario(name: str, row: ScenarioModel) -> ScenarioObjectives:
    limits: dict[str, Limit] = {}
    for key, measurement in SCENARIO_LIMITS.items():
        value = getattr(row, key.replace("-", "_"))
        if isinstance(value, PathLimits):
            limits.update({f"{path}.{measurement}": getattr(value, path) for path in USER_PATHS
                           if getattr(value, path) is not None})
        elif value is not None:
            limits[measurement] = value
    return ScenarioObjectives(name, limits, row.recovery)


def objectives_json_schema() -> dict[str, Any]:
    """JSON Schema of the objectives file, for editors (``schemas/objectives.schema.json``)."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **ObjectivesFile.model_json_schema()}


def load_objectives(path: str | Path) -> Objectives:
    """Load ``path``; raise one ConfigError naming the file, key path and bad value of every problem."""
    document = validate_model(ObjectivesFile, load_yaml_mapping(path), path)
    settings = document.measurement
    return Objectives(
        source=str(path),
        components={name: ComponentObjectives(name, row.availability, row.rto, row.rpo)
                     for name, row in _given(document.components).items()},
        scenarios={name: _scenario(name, row) for name, row in _given(document.scenarios).items()},
        sustained_success_s=settings.sustained_success,
        availability_rate_hz=settings.read_rate or settings.availability_rate or 20.0,
        write_rate_hz=settings.write_rate,
        slow_request_s=settings.slow_request,
        failure_rates_per_year={**DEFAULT_FAILURE_RATES, **document.failure_rates},
    )


if __name__ == "__main__":  # python -m zerospof.objectives > schemas/objectives.schema.json
    json.dump(objectives_json_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
