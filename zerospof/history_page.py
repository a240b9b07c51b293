"""History across runs: the rows and JSON of ``zerospof history`` and the ``reports/index.html`` page
(every run, and each key figure's trend per scenario with its objective line)."""

from __future__ import annotations

import functools
import os
from html import escape
from pathlib import Path
from typing import Any

from zerospof.history import KEY_FIGURES, RunRecord, find_runs
from zerospof.config_commit import configuration_text
from zerospof.spof_page import find_sweeps, sweep_verdict
from zerospof.svg_charts import trend_svg

__all__ = ["history_rows", "history_json", "history_html", "write_history_index", "HISTORY_HEADER"]

HISTORY_HEADER = ("run", "started (UTC)", "target", "config commit", "verdict", "scenario", "scenario verdict",
                  "detection", "worst downtime", "worst RTO", "RPO")


def _started(run: RunRecord) -> str:
    return run.started.strftime("%Y-%m-%d %H:%M") if run.started else "?"


def history_rows(runs: list[RunRecord], scenario: str | None = None) -> list[tuple[str, ...]]:
    """One row per run and scenario (only ``scenario`` when given): :data:`HISTORY_HEADER`. A run that ran no
    scenario (stopped by a harness error before the first) is one row of its own."""
    rows = []
    for run in runs:
        if not run.scenarios and scenario is None:
            rows.append((run.run_id, _started(run), run.target, run.config_text(), run.verdict, "-", "-", *["-"] * 4))
        for name, report in run.scenarios.items():
            if scenario is not None and name != scenario:
                continue
            figure = functools.partial(run.figure_text, name)
            rows.append((run.run_id, _started(run), run.target, run.config_text(), run.verdict, name,
                         "PASS" if report.get("passed") else "FAIL", figure("detection_s"), figure("downtime_s"),
                         figure("rto_s"), figure("rpo_s")))
    return rows


def history_json(runs: list[RunRecord], scenario: str | None = None) -> list[dict[str, Any]]:
    """Every run as JSON: id, directory, start, target, the commits of its configuration files (``config``: role ->
    path, commit, dirty, reason; None for runs that did not record it), verdict, and per scenario its verdict and
    key figures (``value`` None when not measured)."""
    found = []
    for run in runs:
        scenarios = {}
        for name, report in run.scenarios.items():
            if scenario is not None and name != scenario:
                continue
            figures = {}
            for key in dict.fromkeys(["downtime_s", "rto_s", *(key for key, _ in KEY_FIGURES)]):
                measurement = run.figure(name, key)
                if measurement is not None:
                    figures[key] = {k: measurement.get(k) for k in ("value", "unit", "resolution_s")}
            scenarios[name] = {"passed": bool(report.get("passed")), "figures": figures}
        found.append({"run_id": run.run_id, "directory": run.directory,
                      "started": run.started.isoformat() if run.started else None, "target": run.target,
                      "config": run.config or None, "verdict": run.verdict, "complete": run.complete,
                      "scenarios": scenarios})
    return found


def _objective(runs: list[RunRecord], scenario: str, figure: str) -> float | None:
    """The figure's target in the latest run that checked it (objectives change over time; the newest counts)."""
    for run in reversed(runs):
        for check in (run.scenarios.get(scenario) or {}).get("checks", []):
            if check["measurement"] == figure:
                return check["target"]
    return None


def _trends(runs: list[RunRecord], scenario: str) -> str:
    charts = []
    holding = [run for run in runs if scenario in run.scenarios]
    for figure, label in (("downtime_s", "worst-path downtime"), ("rto_s", "worst-path RTO"), *KEY_FIGURES):
        measured = [run.figure(scenario, figure) for run in holding]
        if all(m is None for m in measured):
            continue
        points = []
        for run, measurement in zip(holding, measured):
            if measurement is None:
                continue
            passed = next((c["passed"] for c in run.scenarios[scenario].get("checks", []) if c["measurement"] == figure),
                          None)
            points.append((run.started.strftime("%m-%d %H:%M") if run.started else run.run_id[:13],
                           measurement.get("value"), passed))
        objective = _objective(holding, scenario, figure)
        unit = next(m.get("unit", "s") for m in measured if m is not None)
        title = f"{scenario}: {label}" + ("" if objective is not None else " (no objective)")
        charts.append(trend_svg(points, objective, unit, title))
    return "".join(charts)


def _sweeps_table(sweeps: list[tuple[Path, dict[str, Any]]]) -> str:
    if not sweeps:
        return ""
    rows = []
    for directory, document in reversed(sweeps):
        verdict = sweep_verdict(document)
        css = {"SPOF FOUND": "FAIL", "NOT VALIDATED": "INCOMPLETE"}.get(verdict, "PASS")
        found = [m["member"]["name"] for m in document.get("members", []) if m.get("outcome") == "spof"]
        rows.append(f'<tr><td><a href="{escape(directory.name)}/index.html">{escape(directory.name)}</a></td>'
                    f'<td>{escape(str(document.get("target")))}</td><td class="config">{escape(configuration_text(document.get("config")))}</td>'
                    f'<td class="{css}">{verdict}</td>'
                    f'<td>{len(document.get("members", []))}</td><td>{escape(", ".join(found) or "-")}</td></tr>')
    return ("<h2>SPOF sweeps</h2><table><tr><th>sweep</th><th>target</th><th>config commit</th><th>verdict</th>"
            "<th>members failed</th>"
            "<th>single points of failure</th></tr>" + "".join(rows) + "</table>")


def history_html(runs: list[RunRecord], sources: list[str], sweeps: list[tuple[Path, dict[str, Any]]] = ()) -> str:
    """The history page: a table of every run (newest first) linking each run's report, the SPOF sweeps, then
    per scenario the trend of each key figure across runs with its objective line."""
    from zerospof.html_report import STYLE

    rows = []
    for run in reversed(runs):
        link = os.path.join(Path(run.directory).name, "index.html")
        figures = "; ".join(f"{name} {'PASS' if r.get('passed') else 'FAIL'}: detection {run.figure_text(name, 'detection_s')}, "
                            f"downtime {run.figure_text(name, 'downtime_s')}, RTO {run.figure_text(name, 'rto_s')}, "
                            f"RPO {run.figure_text(name, 'rpo_s')}" for name, r in run.scenarios.items())
        rows.append(f'<tr><td><a href="{escape(link)}">{escape(run.run_id)}</a></td><td>{escape(_started(run))}</td>'
                    f'<td>{escape(run.target)}</td><td class="config">{escape(run.config_text())}</td>'
                    f'<td class="{run.verdict}">{run.verdict}</td><td>{escape(figures)}</td></tr>')
    scenarios = list(dict.fromkeys(name for run in runs for name in run.scenarios))
    trends = "".join(f'<h2 id="trend-{escape(s)}">{escape(s)}</h2><div class="trends">{_trends(runs, s)}</div>'
                     for s in scenarios)
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>zerospof history</title>"
            f"<style>{STYLE}.trends svg{{margin:4px}}</style></head><body><h1>zerospof game-day history</h1>"
            f'<p class="muted">{len(runs)} runs read from {escape(", ".join(sources))}. A red point missed its '
            "objective; a red cross was not measured (never drawn as 0).</p>"
            "<table><tr><th>run</th><th>started (UTC)</th><th>target</th><th>config commit</th><th>verdict</th>"
            "<th>per scenario</th></tr>"
            + "".join(rows) + "</table>" + _sweeps_table(list(sweeps)) + trends + "</body></html>\n")


def write_history_index(reports_dir: str | Path) -> Path:
    """Write ``<reports_dir>/index.html`` listing every run found there; return its path."""
    reports_dir = Path(reports_dir)
    path = reports_dir / "index.html"
    path.write_text(history_html(find_runs([reports_dir]), [str(reports_dir)], find_sweeps(reports_dir)))
    return path
