"""Put a run's judged objectives into the Chaos Toolkit journal where journal readers look.

``chaos report`` and other journal consumers read ``run`` entries (type, name, provider, output,
status); the measurement control's own ``zerospof`` key is invisible to them. :func:`add_objective_probes`
appends one probe entry per judged objective (its output: measured value, unit, target, margin,
passed, message) and one for the run's conditions, and sets the journal's ``deviated`` when an
objective was missed, as a steady state that did not hold would.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

__all__ = ["add_objective_probes", "PROVIDER"]

PROVIDER = {"type": "python", "module": "zerospof.chaos.control", "func": "after_experiment_control"}


def _entry(name: str, output: dict[str, Any], now: str) -> dict[str, Any]:
    return {"activity": {"type": "probe", "name": name, "provider": dict(PROVIDER)}, "output": output,
            "status": "succeeded", "start": now, "end": now, "duration": 0.0}


def add_objective_probes(journal: dict[str, Any], report: dict[str, Any]) -> None:
    """Append a probe entry per objective check of ``report`` (and one for its conditions) to ``journal['run']``."""
    now = datetime.now(timezone.utc).isoformat()
    measurements = report.get("measurements", {})
    for check in report.get("checks", []):
        measured = measurements.get(check["measurement"], {})
        output = {**check, "unit": measured.get("unit"), "resolution_s": measured.get("resolution_s"),
                  "detail": measured.get("detail")}
        journal.setdefault("run", []).append(_entry(f"objective {check['measurement']}", output, now))
    conditions = report.get("conditions", [])
    if conditions:
        journal.setdefault("run", []).append(_entry("experiment conditions", {
            "passed": all(c["passed"] for c in conditions), "conditions": conditions}, now))
    if any(not check["passed"] for check in report.get("checks", [])):
        journal["deviated"] = True
