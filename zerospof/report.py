"""Reports of a run: the timeline chart (PNG), the result table, and ``summary.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zerospof.measure import good
from zerospof.scenario import PATH_PROBES
from zerospof.timeline import EventKind, Timeline
from zerospof.units import format_duration

__all__ = ["timeline_chart", "result_rows", "format_table", "summary_markdown"]

OBJECTIVE_LABELS = {
    "detection_s": "detection",
    "downtime_s": "downtime",
    "rto_s": "RTO",
    "rpo_s": "RPO",
    "deployment_delay_s": "deployment delay",
    "budget_consumed": "error budget used",
}


PATH_COLOURS = {"reads": "tab:green", "writes": "tab:blue"}
BIN_S = 0.5


def timeline_chart(timeline: Timeline, path: str | Path, title: str, report: dict[str, Any] | None = None) -> Path:
    """Draw each user path over time: served % per 0.5 s bin (a bin with no good request is drawn as a
    visible red bar at the bottom, never left blank) and latency (p95 per bin, with the slow-request
    limit), with the fault, detection, recovery and revert marked and labelled apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    slow_s = (report or {}).get("slow_request_s")
    paths = {name: timeline.samples_of(probe) for name, probe in PATH_PROBES.items() if timeline.samples_of(probe)}
    t0 = timeline.t0()
    first = min((samples[0].t_mono for samples in paths.values()), default=0.0)
    origin = t0 if t0 is not None else first
    rows = max(1, len(paths))
    figure, axes = plt.subplots(rows + 1, 1, figsize=(10, 2.4 * (rows + 1)), dpi=100, sharex=True)
    for axis, (name, samples) in zip(axes, paths.items()):
        bins: dict[int, list[bool]] = {}
        for sample in samples:
            bins.setdefault(int((sample.t_mono - origin) // BIN_S), []).append(good(sample, slow_s))
        xs = sorted(bins)
        served = [100 * sum(bins[x]) / len(bins[x]) for x in xs]
        axis.bar([x * BIN_S for x in xs], [max(v, 3.0) if v == 0 else v for v in served], width=BIN_S, align="edge",
                 color=["tab:red" if v == 0 else (PATH_COLOURS[name] if v == 100 else "tab:orange") for v in served])
        axis.set_ylim(0, 105)
        axis.set_ylabel(f"{name}\nserved %")
        _marks(axis, timeline, origin, report, t0, legend=axis is axes[0])
    latency_axis = axes[-1]
    for name, samples in paths.items():
        timed = [(s.t_mono - origin, s.latency_s) for s in samples if s.latency_s is not None]
        if timed:
            latency_axis.plot([t for t, _ in timed], [v * 1000 for _, v in timed], ".", markersize=2,
                              color=PATH_COLOURS[name], label=f"{name} latency")
    if slow_s is not None:
        latency_axis.axhline(slow_s * 1000, color="tab:red", linewidth=1, label=f"slow > {format_duration(slow_s)}")
    latency_axis.set_yscale("log")
    latency_axis.set_ylabel("latency (ms)")
    latency_axis.legend(loc="upper right", fontsize=7)
    _marks(latency_axis, timeline, origin, report, t0, legend=False)
    latency_axis.set_xlabel("seconds from t0" if t0 is not None else "seconds")
    axes[0].set_title(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _marks(axis: Any, timeline: Timeline, origin: float, report: dict[str, Any] | None, t0: float | None,
           legend: bool) -> None:
    marks = [(EventKind.FAULT_VERIFIED, "fault in effect (t0)", "black", "--"),
             (EventKind.FAULT_REVERTED, "fault reverted", "tab:gray", "--"),
             (EventKind.ABORTED, "aborted", "tab:red", "--")]
    for kind, label, colour, style in marks:
        event = timeline.first_event(kind)
        if event is not None:
            axis.axvline(event.t_mono - origin, color=colour, linestyle=style, label=label)
    measurements = (report or {}).get("measurements", {})
    for name, label, colour in (("detection_s", "detected", "tab:orange"), ("rto_s", "recovered (RTO)", "tab:purple")):
        value = measurements.get(name, {}).get("value")
        if value is not None and t0 is not None:
            axis.axvline(value, color=colour, linestyle=":", linewidth=2, label=f"{label} {format_duration(value)}")
    if legend:
        axis.legend(loc="lower left", fontsize=7)


def _measured_text(check: dict[str, Any]) -> str:
    measured = check["measured"]
    if measured is None:
        return "n/a (not measured)"
    if check["unit"] == "ratio":
        return f"{100 * measured:.1f}%"
    return format_duration(measured) if check["unit"] == "s" else f"{measured:g} {check['unit']}"


def _target_text(check: dict[str, Any]) -> str:
    if check["target"] == 0:
        return "0"
    symbol = {"lt": "<", "le": "<="}.get(check.get("comparison", "lt"), "<")
    if check["unit"] == "ratio":
        return f"{symbol} {100 * check['target']:g}%"
    return f"{symbol} {format_duration(check['target'])}" if check["unit"] == "s" else f"{symbol} {check['target']:g}"


def _label(measurement: str) -> str:
    """``writes.downtime_s`` -> ``writes downtime``; ``data-plane.budget_consumed`` -> ``data-plane budget used``."""
    scope, _, name = measurement.rpartition(".")
    label = OBJECTIVE_LABELS.get(name, name)
    return f"{scope} {label}" if scope else label


def _path_rows(scenario: str, report: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for path, figures in report.get("paths", {}).items():
        if not figures.get("measured"):
            rows.append((scenario, f"{path} path", "-", f"not measured: {figures.get('reason')}", "info"))
            continue
        p95 = figures.get("latency_p95_during_s")
        fail_back = figures.get("fail_back_downtime_s")
        rows.append((scenario, f"{path} requests", "-",
                     f"{figures.get('failed_requests', 0):g} bad ({figures.get('slow_requests', 0):g} slow), "
                     f"p95 during {format_duration(p95)}"
                     + (f"; fail-back after the revert: {format_duration(fail_back)} down" if fail_back else ""),
                     "info"))
    return rows


def result_rows(reports: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str, str]]:
    """Rows (scenario, objective, target, measured, verdict): every check (scenario, per path, per layer),
    each path's bad and slow requests, and the conditions that failed."""
    rows = []
    for scenario, report in reports.items():
        for check in report.get("checks", []):
            rows.append((scenario, _label(check["measurement"]), _target_text(check), _measured_text(check),
                         "PASS" if check["passed"] else "FAIL"))
        rows += _path_rows(scenario, report)
        for condition in report.get("conditions", []):
            if not condition["passed"]:
                rows.append((scenario, condition["name"], "must hold", condition["message"], "FAIL"))
        if report.get("error"):
            rows.append((scenario, "run", "completes", report["error"], "FAIL"))
    return rows


def format_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = ("scenario", "objective", "target",
                                                                         "measured", "verdict")) -> str:
    """Format rows as a Markdown table (readable in a terminal too)."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = lambda row: "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def summary_markdown(run_id: str, target: str, reports: dict[str, dict[str, Any]], error: str | None = None) -> str:
    """The run's ``summary.md``: verdict (ERROR when the harness or target failed: not judged), the table,
    per-scenario phases and charts."""
    passed = all(report.get("passed") for report in reports.values()) and bool(reports)
    verdict = "ERROR (not judged)" if error is not None else ("PASS" if passed else "FAIL")
    parts = [f"# zerospof game day {run_id}", "",
             f"Target: `{target}`. Verdict: **{verdict}**.", "",
             format_table(result_rows(reports)), ""]
    for scenario, report in reports.items():
        parts += [f"## {scenario}", ""]
        for path, phases in (report.get("phases") or {}).items():
            parts.append(f"Phases from t0 ({path}): " + ", ".join(f"{k.removesuffix('_s')} {format_duration(v)}"
                                                                    for k, v in phases.items()))
            parts.append("")
        for layer, figures in (report.get("layers") or {}).items():
            if figures.get("budget"):
                parts.append(f"- {layer}: {figures['budget']}")
        parts.append("")
        parts += [f"![{scenario} timeline]({scenario}/timeline.png)", ""]
    return "\n".join(parts)
