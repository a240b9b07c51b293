"""The run's ``index.html``: one self-contained page a debrief reads (inline CSS and SVG, no script, no network).

Verdict first; then per scenario the objectives, each user path's figures, each layer's checks and error
budget, every detection signal, the timeline chart, what was injected (the journal's inject output and its
ledger record), and the component log lines around t0 (lab: read from the lab's logs when the report is
written; AWS: the alarm history and Kubernetes events the run read, ``component_logs.json``, each source's
lines or "not read: <reason>").
"""

from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path
from typing import Any

from zerospof.browser import BrowserError, chromium, screenshot
from zerospof.component_logs import COLLECTED_FILE, LogLine, lab_log_dirs, lines_around, read_collected
from zerospof.history import RunRecord, load_run
from zerospof.report import _label, _measured_text, _target_text
from zerospof.spof_page import is_sweep, spof_html
from zerospof.svg_charts import timeline_svg, utc_text
from zerospof.timeline import Timeline
from zerospof.units import format_duration

__all__ = ["write_html_reports", "write_html_report", "html_report", "STYLE"]

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{margin:0 0 4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}h3{margin:22px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;padding:8px 18px;border-radius:6px;font-size:26px;font-weight:bold;color:#fff}
.PASS{background:#2e7d32}.FAIL,.REGRESSED{background:#c62828}.INCOMPLETE{background:#ef6c00}
td.PASS,td.FAIL,td.REGRESSED,td.INCOMPLETE,span.PASS,span.FAIL,span.INCOMPLETE{color:#fff;font-weight:bold}
td.info{color:#666}pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px;max-height:360px}
.log td{font-family:monospace;font-size:11px;white-space:pre-wrap}.muted{color:#666}
span.PASS,span.FAIL,span.INCOMPLETE{padding:1px 6px;border-radius:3px}.not-read{color:#c62828}
"""


def write_html_reports(run_dir: str | Path) -> Path:
    """Write the run's ``index.html`` and refresh the history page next to it (``<reports>/index.html``), each
    with its screenshot (``index.png``) when Chromium is installed; return the run's page."""
    from zerospof.history_page import write_history_index

    page = write_html_report(run_dir)
    history = write_history_index(Path(run_dir).parent)
    for written in (page, history):
        _screenshot(written)
    return page


def _screenshot(page: Path) -> None:
    """Keep a full-page screenshot next to ``page`` (``index.png``), or say why not."""
    if chromium() is None:
        print(f"no screenshot of {page}: chromium is not installed (bin/setup installs it)", file=sys.stderr)
        return
    try:
        screenshot(page, page.with_suffix(".png"))
    except BrowserError as exc:
        print(f"no screenshot of {page}: {exc}", file=sys.stderr)


def write_html_report(run_dir: str | Path, log_dirs: list[Path] | None = None,
                      regressions: list[dict[str, Any]] | None = None) -> Path:
    """Write ``<run_dir>/index.html`` from what the run left in ``run_dir`` and return its path.

    ``log_dirs``: where the component logs are (default: the lab's, for a lab run). ``regressions``: the
    comparison with a baseline (default: ``<run_dir>/regressions.json`` when present). A ``zerospof spof``
    sweep's directory gets its member matrix instead. Idempotent.
    """
    run_dir = Path(run_dir)
    if is_sweep(run_dir):  # a `zerospof spof` sweep: its member matrix
        (run_dir / "index.html").write_text(spof_html(run_dir, STYLE))
        return run_dir / "index.html"
    run = load_run(run_dir)
    if regressions is None and (run_dir / "regressions.json").is_file():
        regressions = json.loads((run_dir / "regressions.json").read_text()).get("figures")
    if log_dirs is None:
        log_dirs = lab_log_dirs() if run.target == "lab" else []
    path = run_dir / "index.html"
    path.write_text(html_report(run, run_dir, log_dirs, regressions))
    return path


def html_report(run: RunRecord, run_dir: Path, log_dirs: list[Path],
                regressions: list[dict[str, Any]] | None = None) -> str:
    """Return the report page of ``run`` (files read from ``run_dir``; component logs from ``log_dirs``)."""
    started = run.started
    body = [f"<h1>zerospof game day {escape(run.run_id)}</h1>",
            f'<p class="muted">target <b>{escape(run.target)}</b>; started '
            f'{started.strftime("%Y-%m-%d %H:%M:%S UTC") if started else "unknown"}; scenarios: '
            f'{escape(", ".join(run.scenarios) or "none")}</p>',
            f'<p class="muted" id="config">configuration: {escape(run.config_text())}'
            f'{_config_paths(run.config)}</p>',
            f'<p><span id="verdict" class="verdict {run.verdict}">{run.verdict}</span></p>',
            _verdict_reasons(run), _overview(run)]
    if regressions is not None:
        body.append(_regressions(regressions))
    for scenario, report in run.scenarios.items():
        body.append(_scenario(scenario, report, run_dir / scenario, run_dir.parent, log_dirs))
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>zerospof {escape(run.run_id)}: {run.verdict}</title><style>{STYLE}</style></head><body>"
            + "".join(body) + "</body></html>\n")


def _config_paths(config: dict[str, dict[str, Any]]) -> str:
    paths = [f"{role} {record.get('path')}" for role, record in config.items() if record.get("path")]
    return escape(f" (files: {', '.join(paths)})") if paths else ""


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]], css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    lines = []
    for row in rows:
        cells = []
        for cell in row:
            text = str(cell)
            kind = text if text in ("PASS", "FAIL", "REGRESSED", "INCOMPLETE", "info") else ""
            cells.append(f'<td class="{kind}">{escape(text)}</td>')
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{css}"><tr>{head}</tr>' + "".join(lines) + "</table>"


def _verdict_reasons(run: RunRecord) -> str:
    reasons = []
    if not run.complete:
        reasons.append("the run did not finish: no game-day measurements.json was written")
    for scenario, report in run.scenarios.items():
        reasons += [f"{scenario}: {c['message']}" for c in report.get("checks", []) if not c.get("passed")]
        reasons += [f"{scenario}: {c['message']}" for c in report.get("conditions", []) if not c.get("passed")]
        if report.get("error"):
            reasons.append(f"{scenario}: {report['error']}")
    if not reasons:
        return "<p>Every objective was met and every condition held.</p>"
    return "<p>Why:</p><ul>" + "".join(f"<li>{escape(r)}</li>" for r in reasons) + "</ul>"


def _overview(run: RunRecord) -> str:
    rows = [(scenario, "PASS" if report.get("passed") else "FAIL",
             *(run.figure_text(scenario, name) for name in ("detection_s", "downtime_s", "rto_s", "rpo_s")))
            for scenario, report in run.scenarios.items()]
    return _table(("scenario", "verdict", "detection", "worst-path downtime", "worst-path RTO", "RPO"), rows)


def _regressions(figures: list[dict[str, Any]]) -> str:
    if not figures:
        return "<h2>Regressions</h2><p>No figure could be compared with the baseline.</p>"
    baseline = figures[0].get("baseline_run", "?")
    rows = [(f["scenario"], f["figure"], f["baseline_text"], f["measured_text"], f["allowed_text"],
             "REGRESSED" if f["regressed"] else "PASS") for f in figures]
    flagged = sum(1 for f in figures if f["regressed"])
    return (f"<h2>Regressions</h2><p>Compared with baseline <b>{escape(str(baseline))}</b>: {flagged} of "
            f"{len(figures)} figures worse than allowed (the larger of 2 x the resolution and the relative "
            f"threshold).</p>" + _table(("scenario", "figure", "baseline", "measured", "allowed worsening", "verdict"), rows))


def _scenario(scenario: str, report: dict[str, Any], scenario_dir: Path, reports_dir: Path,
              log_dirs: list[Path]) -> str:
    verdict = "PASS" if report.get("passed") else "FAIL"
    t0_wall = report.get("t0_wall")
    parts = [f'<h2 id="{escape(scenario)}">{escape(scenario)} <span class="{verdict}">{verdict}</span></h2>',
             f'<p class="muted">t0 (fault in effect): {escape(utc_text(t0_wall, with_date=True))}</p>']
    if report.get("error"):
        parts.append(f"<p><b>{escape(report['error'])}</b></p>")
    parts += ["<h3>Objectives</h3>", _checks(report), "<h3>User paths</h3>", _paths(report),
              "<h3>Layers</h3>", _layers(report), "<h3>Detection signals</h3>", _detection(report),
              "<h3>Timeline</h3>", _chart(scenario, report, scenario_dir), _phases(report),
              "<h3>Conditions</h3>",
              _table(("condition", "verdict", "message"),
                     [(c["name"], "PASS" if c["passed"] else "FAIL", c["message"]) for c in report.get("conditions", [])])]
    journal = _journal(scenario_dir)
    parts += ["<h3>What was injected</h3>", _injected(journal, reports_dir)]
    parts += ["<h3>Component logs around t0</h3>", _collected_logs(t0_wall, scenario_dir / COLLECTED_FILE)
              if (scenario_dir / COLLECTED_FILE).is_file() else _logs(t0_wall, log_dirs)]
    return f'<section class="scenario">{"".join(parts)}</section>'


def _checks(report: dict[str, Any]) -> str:
    measurements = report.get("measurements") or {}
    rows = []
    for check in report.get("checks", []):
        resolution = (measurements.get(check["measurement"]) or {}).get("resolution_s")
        margin = check.get("margin")
        measured = _measured_text(check)
        if check["measured"] is None:  # say why: "not measured (never recovered: ...)"
            reason = (measurements.get(check["measurement"]) or {}).get("detail", {}).get("reason")
            measured = f"n/a (not measured: {reason})" if reason else measured
        rows.append((_label(check["measurement"]), _target_text(check), measured,
                     _in_unit(margin, check["unit"]), _in_unit(resolution, check["unit"]),
                     "PASS" if check["passed"] else "FAIL"))
    return _table(("objective", "target", "measured", "margin", "resolution", "verdict"), rows)


def _in_unit(value: float | None, unit: str) -> str:
    """A margin or resolution in its measurement's unit (a ratio's resolution is a ratio, not seconds)."""
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{100 * value:.2g}%"
    return ("-" if value < 0 else "") + format_duration(abs(value)) if unit == "s" else f"{value:.3g} {unit}"


def _seconds(value: Any) -> str:
    return format_duration(value) if isinstance(value, (int, float)) else "n/a"


def _paths(report: dict[str, Any]) -> str:
    rows = []
    for path, figures in (report.get("paths") or {}).items():
        if not figures.get("measured"):
            rows.append((path, f"not measured: {figures.get('reason')}", *["-"] * 7))
            continue
        availability = figures.get("availability")
        latency = " / ".join(f"{_seconds(figures.get(f'latency_p50_{phase}_s'))}, {_seconds(figures.get(f'latency_p95_{phase}_s'))}, "
                             f"{_seconds(figures.get(f'latency_p99_{phase}_s'))}" for phase in ("before", "during", "after"))
        rows.append((path, "measured", f"{figures.get('failed_requests', 0):g}", f"{figures.get('slow_requests', 0):g}",
                     "n/a" if availability is None else f"{100 * availability:.2f}%", _seconds(figures.get("downtime_s")),
                     _seconds(figures.get("rto_s")), _seconds(figures.get("fail_back_downtime_s"))
                     if "fail_back_downtime_s" in figures else "-", latency))
    return _table(("path", "status", "bad requests", "of which slow", "availability", "downtime", "RTO",
                   "fail-back downtime", "latency p50, p95, p99: before / during / after"), rows)


def _layers(report: dict[str, Any]) -> str:
    checks = report.get("checks", [])
    rows = []
    for layer, figures in (report.get("layers") or {}).items():
        mine = [c for c in checks if c["measurement"].startswith(f"{layer}.")]
        text = "; ".join(f"{_label(c['measurement']).removeprefix(layer + ' ')} {_measured_text(c)} "
                         f"({_target_text(c)}) {'ok' if c['passed'] else 'MISSED'}" for c in mine)
        rows.append((layer, text or "-", figures.get("budget") or "-", "PASS" if figures.get("passed") else "FAIL"))
    if not rows:
        return '<p class="muted">No layer check recorded.</p>'
    return _table(("layer", "checks (measured, target)", "error budget consumed", "verdict"), rows)


def _detection(report: dict[str, Any]) -> str:
    detection = (report.get("measurements") or {}).get("detection_s") or {}
    detail = detection.get("detail") or {}
    per_probe = detail.get("per_probe_s") or {}
    per_probe_resolution = detail.get("per_probe_resolution_s") or {}  # absent in reports before it was kept
    t0_wall = report.get("t0_wall")
    signals = report.get("signal_probes") or list(per_probe)
    if not signals:
        return '<p class="muted">No detection signal recorded.</p>'
    first = detection.get("value")
    rows = []
    for signal in signals:
        after = per_probe.get(signal)
        rows.append((signal, "not detected" if after is None else format_duration(after),
                     "-" if after is None else _seconds(per_probe_resolution.get(signal)),
                     "-" if after is None or t0_wall is None else utc_text(t0_wall + after),
                     "first" if after is not None and after == first else "",
                     "no samples" if signal in (detail.get("probes_without_samples") or []) else ""))
    resolution = detection.get("resolution_s")
    return (_table(("signal", "after t0", "resolution", "UTC", "", "note"), rows)
            + f'<p class="muted">Detection time = the first signal; resolution {_seconds(resolution)}.</p>')


def _chart(scenario: str, report: dict[str, Any], scenario_dir: Path) -> str:
    timeline_file = scenario_dir / "timeline.jsonl"
    if not timeline_file.is_file():
        return f'<p class="muted">No timeline was recorded ({escape(str(timeline_file))} is missing).</p>'
    return f'<figure class="chart">{timeline_svg(Timeline.read_jsonl(timeline_file), report, f"{scenario}: users and markers")}</figure>'


def _phases(report: dict[str, Any]) -> str:
    rows = [(path, *(_seconds(phases.get(key)) for key in ("detect_s", "fail_over_s", "recovered_s")))
            for path, phases in (report.get("phases") or {}).items()]
    return _table(("path", "detected", "failed over", "recovered"), rows) if rows else ""


def _journal(scenario_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((scenario_dir / "journal.json").read_text())
    except (OSError, ValueError):
        return {}


def _injected(journal: dict[str, Any], reports_dir: Path) -> str:
    if not journal:
        return '<p class="muted">No journal was written for this scenario.</p>'
    parts = []
    for entry in journal.get("run", []) + journal.get("rollbacks", []):
        activity = entry.get("activity") or {}
        output = entry.get("output")
        parts.append(f"<p><b>{escape(str(activity.get('name')))}</b> ({escape(str(activity.get('type')))}, "
                     f"{escape(str(entry.get('status')))}, {escape(str(entry.get('start')))} to "
                     f"{escape(str(entry.get('end')))})</p><pre>{escape(_short_json(output))}</pre>")
        if isinstance(output, dict) and output.get("record"):
            parts.append(_ledger(output, reports_dir))
    return "".join(parts) or '<p class="muted">The journal holds no action.</p>'


def _short_json(value: Any, limit: int = 4000) -> str:
    text = json.dumps(value, indent=1, default=str)
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters in journal.json)"


def _ledger(output: dict[str, Any], reports_dir: Path) -> str:
    """The ledger record the inject action wrote: under ``<reports>/ledger``, else at the path the journal names."""
    candidates = [reports_dir / "ledger" / f"{output['record']}.json"]
    if output.get("ledger"):
        candidates.append(Path(str(output["ledger"])))
    for candidate in candidates:
        if candidate.is_file():
            return (f"<p>Ledger record <code>{escape(str(candidate))}</code>:</p>"
                    f"<pre>{escape(candidate.read_text())}</pre>")
    return (f'<p class="muted">Ledger record {escape(str(output["record"]))} not found at report time (looked in '
            f'{escape(", ".join(map(str, candidates)))}).</p>')


def _logs(t0_wall: float | None, log_dirs: list[Path]) -> str:
    if t0_wall is None:
        return '<p class="muted">No t0: the fault was never verified in effect, so there is no window to show.</p>'
    if not log_dirs:
        return (f'<p class="muted">No component log was collected for this run (no {COLLECTED_FILE}); what the run '
                'read from the target is in the journal outputs above.</p>')
    found = lines_around(log_dirs, t0_wall)
    if not found:
        return (f'<p class="muted">No timestamped line within the window around t0 in '
                f'{escape(", ".join(map(str, log_dirs)))} (the lab\'s logs may be from a later run).</p>')
    parts = [f'<p class="muted">From 10 s before to 40 s after t0, at most 40 lines per component, read from '
             f'{escape(", ".join(map(str, log_dirs)))} when this report was written.</p>']
    parts += [_log_lines(component, lines, t0_wall) for component, lines in found.items()]
    return "".join(parts)


def _log_lines(component: str, lines: list[LogLine] | tuple[LogLine, ...], t0_wall: float) -> str:
    rows = [(utc_text(line.t_wall), f"{line.t_wall - t0_wall:+.2f}s", line.text) for line in lines]
    return (f'<details class="component-log"><summary>{escape(component)} ({len(lines)} lines)</summary>'
            + _table(("UTC", "from t0", "line"), rows, css="log") + "</details>")


def _collected_logs(t0_wall: float | None, path: Path) -> str:
    """What the run read from the target's APIs (``component_logs.json``): per source its lines, or why not."""
    try:
        collected = read_collected(path)
    except ValueError as exc:
        return f'<p class="not-read">not read: {escape(str(exc))}</p>'
    t0 = t0_wall if t0_wall is not None else collected.start_wall
    parts = [f'<p class="muted">Read from the target\'s APIs during the run, from {escape(utc_text(collected.start_wall, with_date=True))} '
             f'to {escape(utc_text(collected.end_wall, with_date=True))} ({collected.start_wall - t0:+.0f}s to '
             f'{collected.end_wall - t0:+.0f}s from t0).</p>']
    for source in collected.sources:
        if source.error is not None:
            parts.append(f'<p class="not-read"><b>{escape(source.component)}</b>: not read: {escape(source.error)}</p>')
        elif not source.lines:
            parts.append(f'<p class="muted"><b>{escape(source.component)}</b>: read; nothing recorded in the window.</p>')
        else:
            parts.append(_log_lines(source.component, source.lines, t0))
    if not collected.sources:
        parts.append('<p class="muted">The target names no alarm and no cluster whose records could be read.</p>')
    return "".join(parts)
