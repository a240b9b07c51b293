"""Load and validate the objectives file (``objectives.yaml``) into typed values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from zerospof.schema import Section, load_yaml_mapping
from zerospof.units import format_duration, parse_duration_s, parse_percent
from zerospof.verdict import Comparison, Objective

__all__ = [
    "SCENARIOS",
    "USER_PATHS",
    "Limit",
    "RecoveryMode",
    "ComponentObjectives",
    "ScenarioObjectives",
    "Objectives",
    "load_objectives",
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
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(?:/s|hz|Hz)\s*$", str(text))
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


def _component(section: Section, name: str) -> ComponentObjectives:
    section.only(("availability", "rto", "rpo"))
    section.require(("availability", "rto", "rpo"))
    return ComponentObjectives(
        name,
        section.get("availability", parse_percent),
        section.get("rto", parse_limit),
        section.get("rpo", parse_limit),
    )


def _scenario(section: Section, name: str) -> ScenarioObjectives:
    section.only((*SCENARIO_LIMITS, "recovery"))
    section.require(("detection", "recovery"))
    limits: dict[str, Limit] = {}
    for key, measurement in SCENARIO_LIMITS.items():
        if key not in section.data:
            continue
        if key in PATH_SCOPED and isinstance(section.data[key], dict):
            scoped = section.section(key)
            scoped.only(USER_PATHS)
            if not scoped.data:
                raise section.error(key, f"name at least one user path ({', '.join(USER_PATHS)})", {})
            limits.update({f"{path}.{measurement}": scoped.get(path, parse_limit) for path in scoped.data})
        else:
            limits[measurement] = section.get(key, parse_limit)
    return ScenarioObjectives(name, limits, section.get("recovery", RecoveryMode))


def _positive_duration_s(text: object) -> float:
    seconds = parse_duration_s(text)
    if seconds <= 0:
        raise ValueError("must be above 0")
    return seconds


def load_objectives(path: str | Path) -> Objectives:
    """Load ``path``; raise ConfigError naming the file, key path and bad value on the first problem."""
    top = Section(path, load_yaml_mapping(path))
    top.only(("measurement", "components", "scenarios", "failure-rates"))
    top.require(("components", "scenarios"))
    settings = top.section("measurement") if "measurement" in top.data else Section(path, {}, "measurement")
    settings.only(("sustained-success", "availability-rate", "read-rate", "write-rate", "slow-request"))
    if "availability-rate" in settings.data and "read-rate" in settings.data:
        raise settings.error("availability-rate", "give the read path's rate once: read-rate (availability-rate "
                             "is its old name)", settings.data["availability-rate"])
    components_section = top.section("components")
    components_section.only(COMPONENTS)
    scenarios_section = top.section("scenarios")
    scenarios_section.only(SCENARIOS)
    return Objectives(
        source=str(path),
        components={name: _component(components_section.section(name), name) for name in components_section.data},
        scenarios={name: _scenario(scenarios_section.section(name), name) for name in scenarios_section.data},
        sustained_success_s=settings.get("sustained-success", parse_duration_s, 5.0),
        availability_rate_hz=settings.get("read-rate", _parse_rate_hz)
        or settings.get("availability-rate", _parse_rate_hz, 20.0),
        write_rate_hz=settings.get("write-rate", _parse_rate_hz, 10.0),
        slow_request_s=settings.get("slow-request", _positive_duration_s, DEFAULT_SLOW_REQUEST_S),
        failure_rates_per_year={**DEFAULT_FAILURE_RATES, **_failure_rates(top)},
    )


def _failure_rates(top: Section) -> dict[str, float]:
    if "failure-rates" not in top.data:
        return {}
    section = top.section("failure-rates")
    return {str(kind): section.get(kind, _per_year) for kind in section.data}


def _per_year(text: object) -> float:
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(?:year|yr)\s*$", str(text))
    if match is None:
        raise ValueError("expected a rate such as '2/year'")
    return float(match.group(1))
