"""Regressions: each figure of a run compared with a baseline (the last run, a named run, or the median of N).

A figure regresses when it is worse than the baseline by more than the larger of twice its measurement
resolution and a relative threshold (default 20%) of the baseline. Lower is better for every compared figure
(durations and error budget shares). A figure the baseline measured but this run did not (detection ``None``:
not detected) is a regression; one the baseline did not measure cannot be compared and is left out.
Pure functions: no I/O.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import asdict, dataclass
from typing import Any

from zerospof.errors import ConfigError
from zerospof.history import KEY_FIGURES, RunRecord
from zerospof.units import format_duration

__all__ = ["BaselineFigure", "FigureComparison", "parse_baseline", "baseline_figures", "compare",
           "DEFAULT_RELATIVE_THRESHOLD"]

DEFAULT_RELATIVE_THRESHOLD = 0.2
_MEDIAN = re.compile(r"^median:(\d+)$")


@dataclass(frozen=True)
class BaselineFigure:
    """A figure's baseline: its value (None: not measured), resolution and the runs it comes from."""

    value: float | None
    resolution_s: float | None
    unit: str
    runs: tuple[str, ...]


@dataclass(frozen=True)
class FigureComparison:
    """One figure of one scenario against its baseline."""

    scenario: str
    figure: str
    unit: str
    baseline: float | None
    measured: float | None
    allowed: float
    regressed: bool
    baseline_run: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the texts people read (``baseline_text``, ``measured_text``, ``allowed_text``)."""
        show = (lambda v: "n/a" if v is None else f"{100 * v:.2f}%") if self.unit == "ratio" else format_duration
        return {**asdict(self), "baseline_text": show(self.baseline), "measured_text": show(self.measured),
                "allowed_text": f"+{show(self.allowed)}"}


def parse_baseline(spec: str) -> tuple[str, int]:
    """``last`` -> ("last", 1); ``median:5`` -> ("median", 5); anything else is a run id -> (spec, 1).
    Raise ConfigError on ``median:0`` or a malformed ``median:``."""
    if spec == "last":
        return "last", 1
    if spec.startswith("median:"):
        match = _MEDIAN.match(spec)
        if match is None or int(match.group(1)) < 1:
            raise ConfigError("command line", "--baseline", "expected last, a run id or median:N with N >= 1", spec)
        return "median", int(match.group(1))
    return spec, 1


def _compared(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The figures of a scenario report that are compared: every checked one and the key figures, when their
    unit is seconds or a budget share (their resolution is in the same unit as their value)."""
    measurements = report.get("measurements") or {}
    names = [c["measurement"] for c in report.get("checks", [])] + [name for name, _ in KEY_FIGURES]
    chosen = {}
    for name in dict.fromkeys(names):
        measurement = measurements.get(name)
        if measurement and (measurement.get("unit") == "s" or name.endswith("budget_consumed")):
            chosen[name] = measurement
    return chosen


def baseline_figures(runs: list[RunRecord], spec: str, scenarios: list[str], exclude_run: str | None = None
                     ) -> dict[str, dict[str, BaselineFigure]]:
    """Per scenario, per figure: the baseline chosen by ``spec`` among ``runs`` (oldest first), ignoring
    ``exclude_run`` (the run being judged). ``last``: the latest run holding the scenario; a run id: that
    run; ``median:N``: the median of each figure over the latest N runs holding the scenario (runs where it
    was not measured are left out of that figure's median). Raise ConfigError when there is no baseline."""
    kind, count = parse_baseline(spec)
    candidates = [run for run in runs if run.run_id != exclude_run]
    if kind not in ("last", "median"):
        candidates = [run for run in candidates if run.run_id == kind]
        if not candidates:
            raise ConfigError("command line", "--baseline", "no run with this id in the reports directories", spec)
    found: dict[str, dict[str, BaselineFigure]] = {}
    for scenario in scenarios:
        holding = [run for run in candidates if scenario in run.scenarios][-count:]
        if not holding:
            continue
        figures: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for run in holding:
            for name, measurement in _compared(run.scenarios[scenario]).items():
                figures.setdefault(name, []).append((run.run_id, measurement))
        found[scenario] = {name: _combine(entries) for name, entries in figures.items()}
    if not found:
        raise ConfigError("command line", "--baseline", f"no earlier run holds any of {', '.join(scenarios)}", spec)
    return found


def _combine(entries: list[tuple[str, dict[str, Any]]]) -> BaselineFigure:
    values = [m["value"] for _, m in entries if m.get("value") is not None]
    resolutions = [m["resolution_s"] for _, m in entries if m.get("resolution_s") is not None]
    return BaselineFigure(statistics.median(values) if values else None, max(resolutions, default=None),
                          str(entries[0][1].get("unit")), tuple(run for run, _ in entries))


def compare(reports: dict[str, dict[str, Any]], baseline: dict[str, dict[str, BaselineFigure]],
            relative: float = DEFAULT_RELATIVE_THRESHOLD) -> list[FigureComparison]:
    """Compare every compared figure of ``reports`` (scenario -> report) with ``baseline``; a figure is
    regressed when ``measured - baseline > max(2 x resolution, relative x |baseline|)``, or when the
    baseline measured it and this run did not."""
    if relative < 0:
        raise ConfigError("command line", "--regression-threshold", "must be >= 0", relative)
    found = []
    for scenario, report in reports.items():
        for name, measurement in _compared(report).items():
            base = baseline.get(scenario, {}).get(name)
            if base is None or base.value is None:
                continue
            resolutions = [r for r in (measurement.get("resolution_s"), base.resolution_s) if r is not None]
            allowed = max(2 * max(resolutions, default=0.0), relative * abs(base.value))
            value = measurement.get("value")
            regressed = value is None or value - base.value > allowed
            label = base.runs[0] if len(base.runs) == 1 else f"median of {', '.join(base.runs)}"
            found.append(FigureComparison(scenario, name, str(measurement.get("unit")), base.value, value, allowed,
                                          regressed, label))
    return found
