"""Score measurements against objectives: pass or fail, with the margin left.

``judge`` is pure. A measurement that is missing, or whose value is None (not measured, not
detected, never recovered), fails its objective; nothing is silently skipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from zerospof.measure import Measurement

__all__ = ["Comparison", "Objective", "Check", "Verdict", "judge", "in_doubt"]


class Comparison(StrEnum):
    """How a measured value is held against its target."""

    LT = "lt"  # measured < target ("detection < 30 s")
    LE = "le"  # measured <= target
    EQ_ZERO = "eq_zero"  # measured == 0 exactly ("zero downtime", "RPO 0"); target must be 0

    @property
    def symbol(self) -> str:
        """The operator as people write it in a target."""
        return {"lt": "<", "le": "<=", "eq_zero": "="}[self.value]


@dataclass(frozen=True)
class Objective:
    """A target for one measurement, e.g. ``Objective("detection_s", 30.0, "lt")``.

    ``measurement`` names the measurement judged (defaults to ``name``); ``unit`` is used in
    messages when the measurement is missing (otherwise the measurement's unit is shown).
    """

    name: str
    target: float
    comparison: Comparison | str
    measurement: str | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        try:
            comparison = Comparison(self.comparison)
        except ValueError as exc:
            allowed = ", ".join(c.value for c in Comparison)
            raise ValueError(f"objective {self.name!r}: comparison must be one of {allowed}, "
                             f"not {self.comparison!r}") from exc
        object.__setattr__(self, "comparison", comparison)
        if isinstance(self.target, bool) or not isinstance(self.target, (int, float)) or not math.isfinite(self.target):
            raise ValueError(f"objective {self.name!r}: target must be a finite number, not {self.target!r}")
        object.__setattr__(self, "target", float(self.target))
        if comparison is Comparison.EQ_ZERO and self.target != 0:
            raise ValueError(f"objective {self.name!r}: eq_zero needs target 0, not {self.target!r}")

    @property
    def measurement_name(self) -> str:
        """Name of the measurement this objective judges."""
        return self.measurement or self.name


@dataclass(frozen=True)
class Check:
    """One objective held against one measurement; ``margin`` = target - measured (positive = headroom)."""

    objective: str
    measurement: str
    measured: float | None
    target: float
    passed: bool
    margin: float | None
    unit: str
    message: str
    comparison: str = Comparison.LT.value


@dataclass(frozen=True)
class Verdict:
    """Every check of a run; it passes only when there is at least one check and all pass."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """True when there is at least one check and every check passed."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that failed."""
        return tuple(check for check in self.checks if not check.passed)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict: ``passed`` and every check."""
        return {"passed": self.passed, "checks": [asdict(check) for check in self.checks]}


def judge(measurements: Mapping[str, Measurement], objectives: Sequence[Objective]) -> Verdict:
    """Hold each objective against the measurement it names and return the verdict."""
    return Verdict(tuple(_check(objective, measurements.get(objective.measurement_name)) for objective in objectives))


def in_doubt(verdict: Verdict, measurements: Mapping[str, Measurement], unobserved_s: float,
             gaps: int = 1, edge_s: float = 0.0) -> tuple[Check, ...]:
    """The checks whose outcome turns on ``unobserved_s`` seconds that nobody observed (the harness
    was not running, in ``gaps`` spans): each figure in seconds could be that much lower or higher,
    and once more per gap by ``edge_s`` (a request sent that long before a gap can be made slow by
    it: the slow-request limit) and by its own resolution (a sample in flight across a gap counts
    until the next one); an error-budget ratio (``detail["budget_s"]``) likewise, as a share of its budget.
    A check passes or fails the same way at both ends, or it is in doubt. Figures in other units,
    and figures not measured (they fail whatever happened), are never in doubt.
    """
    if unobserved_s <= 0:
        return ()
    found = []
    for check in verdict.checks:
        delta = _uncertainty(check, measurements.get(check.measurement), unobserved_s + gaps * edge_s, gaps)
        if check.measured is None or delta is None:
            continue
        comparison = Comparison(check.comparison)
        low, high = max(0.0, check.measured - delta), check.measured + delta
        if _compare(comparison, low, check.target) != _compare(comparison, high, check.target):
            found.append(check)
    return tuple(found)


def _uncertainty(check: Check, measurement: Measurement | None, unobserved_s: float, gaps: int) -> float | None:
    resolution = (measurement.resolution_s if measurement is not None else None) or 0.0
    if check.unit == "s":
        return unobserved_s + gaps * resolution
    budget_s = measurement.detail.get("budget_s") if measurement is not None else None
    if check.unit == "ratio" and isinstance(budget_s, (int, float)) and budget_s > 0:
        return unobserved_s / budget_s + gaps * resolution  # a budget's resolution is a share of it already
    return None


def _check(objective: Objective, measurement: Measurement | None) -> Check:
    comparison = Comparison(objective.comparison)
    name = objective.measurement_name
    unit = measurement.unit if measurement is not None else (objective.unit or "")
    target_text = f"target {comparison.symbol} {_format(objective.target, unit, '.6g')}"
    if measurement is None or measurement.value is None:
        why = (f"no measurement named {name!r}" if measurement is None
               else measurement.detail.get("reason", "no value: not detected or never recovered"))
        message = f"{name}: not measured ({why}), {target_text}"
        return Check(objective.name, name, None, objective.target, False, None, unit, message, comparison.value)
    measured = float(measurement.value)
    passed = _compare(comparison, measured, objective.target)
    margin = objective.target - measured
    message = f"{name}: measured {_format(measured, unit)}, {target_text}, margin {_format(margin, unit)}"
    return Check(objective.name, name, measured, objective.target, passed, margin, unit, message, comparison.value)


def _compare(comparison: Comparison, measured: float, target: float) -> bool:
    if comparison is Comparison.LT:
        return measured < target
    if comparison is Comparison.LE:
        return measured <= target
    return measured == 0.0


def _format(value: float, unit: str, spec: str = ".2f") -> str:
    number = format(value, spec)
    if unit == "s":
        return f"{number}s"
    return f"{number} {unit}" if unit else number
