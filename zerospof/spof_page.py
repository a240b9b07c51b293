"""A SPOF sweep's page (``reports/<run-id>-spof/index.html``): the member matrix of ``zerospof spof``."""

from __future__ import annotations

import base64
import json
import re
from html import escape
from pathlib import Path
from typing import Any

from zerospof.errors import ConfigError
from zerospof.units import format_duration

__all__ = ["SWEEP_ID", "is_sweep", "load_sweep", "find_sweeps", "sweep_verdict", "spof_html"]

SWEEP_ID = re.compile(r"^(\d{8}T\d{6})-[0-9a-f]+-spof$")
SCHEMA = "zerospof.spof/1"


def is_sweep(run_dir: Path) -> bool:
    """A directory ``zerospof spof`` wrote (it holds ``spof.json``)."""
    return (run_dir / "spof.json").is_file()


def load_sweep(run_dir: Path) -> dict[str, Any]:
    """``spof.json`` of ``run_dir``; ConfigError naming the file when it is not a sweep document."""
    path = run_dir / "spof.json"
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), "", f"cannot read it as JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise ConfigError(str(path), "schema", f"expected {SCHEMA!r}", (document or {}).get("schema"))
    return document


def find_sweeps(directory: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every sweep directly under ``directory`` (``<run-id>-spof/``), oldest first."""
    if not directory.is_dir():
        return []
    return [(p, load_sweep(p)) for p in sorted(directory.iterdir()) if SWEEP_ID.match(p.name) and is_sweep(p)]


def sweep_verdict(document: dict[str, Any]) -> str:
    """SPOF FOUND, NOT VALIDATED (a layer in scope had no member, or a member could not be judged) or NO SPOF."""
    outcomes = [m.get("outcome") for m in document.get("members", [])]
    if "spof" in outcomes:
        return "SPOF FOUND"
    if document.get("not_validated") or "error" in outcomes or not outcomes:
        return "NOT VALIDATED"
    return "NO SPOF"


def _path_text(figures: dict[str, Any]) -> str:
    if not figures.get("measured"):
        return f"not measured: {figures.get('reason', '?')}"
    text = (f"{format_duration(figures.get('downtime_s'))} down, {figures.get('bad_requests', 0):g} bad "
            f"({figures.get('slow_requests', 0):g} slow), recovered in {format_duration(figures.get('rto_s'))}")
    if figures.get("budget_consumed") is not None:
        text += f", {100 * figures['budget_consumed']:.1f}% of the monthly budget"
    if figures.get("fail_back_downtime_s"):
        text += f"; fail-back {format_duration(figures['fail_back_downtime_s'])} down"
    return text


def _layer_text(layer: dict[str, Any] | None) -> str:
    if not layer or not layer.get("checked"):
        return f"not checked: {(layer or {}).get('reason', 'no layer check recorded')}"
    held = layer.get("recovered_s")
    return f"{layer.get('check')}: " + ("never held while it was down" if held is None
                                         else f"held {format_duration(held)} after the loss")


def spof_html(run_dir: Path, style: str) -> str:
    """The sweep's page: verdict, one row per member failed alone (layer, place, outcome, why, what users felt
    on each path), layers not validated, and the heat map when present (inlined)."""
    document = load_sweep(run_dir)
    verdict = sweep_verdict(document)
    css = {"SPOF FOUND": "FAIL", "NOT VALIDATED": "INCOMPLETE", "NO SPOF": "PASS"}[verdict]
    rows = []
    for entry in document.get("members", []):
        member, figures = entry.get("member", {}), entry.get("figures", {})
        outcome = str(entry.get("outcome"))
        cell = {"spof": "FAIL", "degraded": "INCOMPLETE", "redundant": "PASS"}.get(outcome, "FAIL")
        rows.append(f"<tr><td>{escape(str(member.get('layer')))}</td><td>{escape(str(member.get('name')))}</td>"
                    f"<td>{escape(str(member.get('place') or '-'))}</td><td class=\"{cell}\">{escape(outcome.upper())}</td>"
                    f"<td>{escape('; '.join(entry.get('reasons', [])))}</td>"
                    f"<td>{escape(_path_text(figures.get('reads', {})))}</td>"
                    f"<td>{escape(_path_text(figures.get('writes', {})))}</td>"
                    f"<td>{escape(_layer_text(figures.get('layer')))}</td>"
                    f"<td>{escape(format_duration(figures.get('held_s')))}</td></tr>")
    missing = document.get("not_validated") or []
    heatmap = run_dir / "heatmap.png"
    image = (f'<h2>Heat map</h2><img alt="heat map" src="data:image/png;base64,'
             f'{base64.b64encode(heatmap.read_bytes()).decode()}">' if heatmap.is_file() else "")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>zerospof SPOF sweep {escape(str(document.get('run_id')))}: {verdict}</title><style>{style}</style>"
            f"</head><body><h1>zerospof SPOF sweep {escape(str(document.get('run_id')))}</h1>"
            f"<p class=\"muted\">target <b>{escape(str(document.get('target')))}</b>; every member failed alone, "
            "users observed, reverted, target back in its reference state before the next</p>"
            f'<p><span id="verdict" class="verdict {css}">{verdict}</span></p>'
            + (f"<p>Layers not validated (no member to fail): {escape(', '.join(map(str, missing)))}</p>" if missing else "")
            + "<h2>Members</h2><table><tr><th>layer</th><th>member</th><th>place</th><th>outcome</th><th>why</th>"
            "<th>reads</th><th>writes</th><th>layer check</th><th>held failed</th></tr>" + "".join(rows) + "</table>" + image
            + "</body></html>\n")
