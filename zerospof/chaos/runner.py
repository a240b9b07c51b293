"""Run one experiment file through chaoslib (as ``chaos run`` would) and collect its result."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zerospof.chaos.settings import new_run_id
from zerospof.faults import Ledger
from zerospof.faults.runner import revert_leftovers
from zerospof.timeline import Timeline
from zerospof.validate import validate_experiment

__all__ = ["ScenarioResult", "run_experiment_file", "experiment_path"]

REPO = Path(__file__).resolve().parents[2]


def experiment_path(target_kind: str, scenario: str) -> Path:
    """``experiments/<target kind>/<scenario>.yaml`` of this repository."""
    return REPO / "experiments" / target_kind / f"{scenario}.yaml"


@dataclass(frozen=True)
class ScenarioResult:
    """What one scenario run left: the journal, the report (measurements + verdict), the timeline."""

    scenario: str
    run_dir: Path
    journal: dict[str, Any]
    report: dict[str, Any]

    @property
    def passed(self) -> bool:
        return bool(self.report.get("passed"))

    def timeline(self) -> Timeline:
        return Timeline.read_jsonl(self.run_dir / "timeline.jsonl")


def run_experiment_file(path: str | Path, configuration: dict[str, Any]) -> ScenarioResult:
    """Validate and run the experiment at ``path`` with ``configuration`` overriding its own keys.

    Rollbacks are played whatever happens (strategy ``always``). The journal is written to
    ``<run dir>/journal.json``. A run that produced no report (the control never reached its
    end) gets a failing report saying so.
    """
    from chaoslib.run import Runner
    from chaoslib.types import Strategy

    experiment = validate_experiment(path)
    config = experiment.setdefault("configuration", {})
    config.update(configuration)
    config.setdefault("zerospof_run_id", new_run_id())
    config.setdefault("zerospof_run_dir", str(Path("reports") / config["zerospof_run_id"] / str(config.get("zerospof_scenario"))))
    settings = {"runtime": {"rollbacks": {"strategy": "always"}, "hypothesis": {"strategy": "default"}}}
    logging.getLogger("chaostoolkit").setLevel(logging.INFO)
    try:
        with Runner(Strategy.DEFAULT) as runner:
            journal = runner.run(experiment, settings=settings)
    finally:  # whatever the experiment's rollbacks did (even `rollbacks: []`), nothing zerospof injected stays
        leftovers = revert_leftovers(Ledger(config.get("zerospof_ledger_dir") or None), config["zerospof_run_id"])
    run_dir = Path(config["zerospof_run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "journal.json").write_text(json.dumps(journal, indent=2, default=str))
    report = journal.get("zerospof") or {
        "scenario": config.get("zerospof_scenario"), "passed": False, "checks": [], "conditions": [],
        "error": f"the experiment ended ({journal.get('status')}) without measurements",
    }
    if leftovers:  # the experiment left a fault in place: it fails, and says what the runner reverted
        report = {**report, "passed": False, "reverted_after_the_run": [
            f"{r.description}: {'reverted' if r.reverted else 'FAILED: ' + str(r.error)}" for r in leftovers]}
    return ScenarioResult(str(config.get("zerospof_scenario")), run_dir, journal, report)
