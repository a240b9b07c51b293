"""Reports of a run: the timeline chart (PNG), the result table, and ``summary.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zerospof.scenario import AVAILABILITY
from zerospof.timeline import EventKind, Timeline
from zerospof.units import format_duration

__all__ = ["timeline_chart", "result_rows", "format_table", "summary_markdown"]

OBJECTIVE_LABELS = {
    "detection_s": "detection",
    "downtime_s": "downtime",
    "rto_s": "RTO",
    "rpo_s": "RPO",
    "deployment_delay_s": "deployment delay",
}


def timeline_chart(timeline: Timeline, path: str | Path, title: str, report: dict[str, Any] | None = None) -> Path:
    """Draw availability over time (successes and failures per 0.5 s) with fault, detection and recovery marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    samples = timeline.samples_of(AVAILABILITY)
    t0 = timeline.t0()
    origin = t0 if t0 is not None else (samples[0].t_mono if samples else 0.0)
    figure, axis = plt.subplots(figsize=(10, 3.2), dpi=100)
    bins: dict[int, list[bool]] = {}
    for sample in samples:
        bins.setdefault(int((sample.t_mono - origin) // 0.5), []).append(sample.ok)
    xs = sorted(bins)
    axis.bar([x * 0.5 for x in xs], [100 * sum(bins[x]) / len(bins[x]) for x in xs], width=0.5, align="edge",
             color=["tab:green" if all(bins[x]) else "tab:red" for x in xs], label="requests served (%)")
    marks = [(EventKind.FAULT_VERIFIED, "fault in effect (t0)", "black"),
             (EventKind.FAULT_REVERTED, "fault reverted", "tab:blue"),
             (EventKind.ABORTED, "aborted", "tab:red")]
    for kind, label, colour in marks:
        event = timeline.first_event(kind)
        if event is not None:
            axis.axvline(event.t_mono - origin, color=colour, linestyle="--", label=label)
    measurements = (report or {}).get("measurements", {})
    for name, label, colour in (("detection_s", "detected", "tab:orange"), ("rto_s", "recovered (RTO)", "tab:purple")):
        value = measurements.get(name, {}).get("value")
        if value is not None and t0 is not None:
            axis.axvline(value, color=colour, linestyle=":", linewidth=2, label=f"{label} {format_duration(value)}")
    axis.set_ylim(0, 105)
    axis.set_xlabel("seconds from t0" if t0 is not None else "seconds")
    axis.set_ylabel("served %")
    axis.set_title(title)
    axis.legend(loc="lower left", fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _measured_text(check: dict[str, Any]) -> str:
    measured = check["measured"]
    if measured is None:
        return "n/a (not measured)"
    return format_duration(measured) if check["unit"] == "s" else f"{measured:g} {check['unit']}"


def _target_text(check: dict[str, Any]) -> str:
    if check["target"] == 0:
        return "0"
    symbol = {"lt": "<", "le": "<="}.get(check.get("comparison", "lt"), "<")
    return f"{symbol} {format_duration(check['target'])}" if check["unit"] == "s" else f"{symbol} {check['target']:g}"


def result_rows(reports: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str, str]]:
    """Rows (scenario, objective, target, measured, verdict), conditions that failed included."""
    rows = []
    for scenario, report in reports.items():
        for check in report.get("checks", []):
            label = OBJECTIVE_LABELS.get(check["measurement"], check["measurement"])
            rows.append((scenario, label, _target_text(check), _measured_text(check),
                         "PASS" if check["passed"] else "FAIL"))
        failed_requests = report.get("measurements", {}).get("failed_requests", {}).get("value")
        if failed_requests is not None:
            rows.append((scenario, "failed requests", "-", f"{failed_requests:g}", "info"))
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


def summary_markdown(run_id: str, target: str, reports: dict[str, dict[str, Any]]) -> str:
    """The run's ``summary.md``: verdict, the table, per-scenario phases and charts."""
    passed = all(report.get("passed") for report in reports.values()) and bool(reports)
    parts = [f"# zerospof game day {run_id}", "",
             f"Target: `{target}`. Verdict: **{'PASS' if passed else 'FAIL'}**.", "",
             format_table(result_rows(reports)), ""]
    for scenario, report in reports.items():
        parts += [f"## {scenario}", ""]
        phases = report.get("phases") or {}
        if phases:
            parts.append("Phases from t0: " + ", ".join(f"{k.removesuffix('_s')} {format_duration(v)}"
                                                         for k, v in phases.items()))
            parts.append("")
        parts += [f"![{scenario} timeline]({scenario}/timeline.png)", ""]
    return "\n".join(parts)
