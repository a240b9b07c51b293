"""``chaos run`` of each lab experiment works from the repository root, and its journal holds the verdict."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from zerospof.objectives import SCENARIOS

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[1]
CHAOS = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "chaos"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_chaos_run_measures_and_judges_the_experiment(running_lab, tmp_path, scenario):
    journal_path = tmp_path / "journal.json"
    completed = subprocess.run(
        [str(CHAOS), "--log-file", str(tmp_path / "chaostoolkit.log"), "run", "--journal-path", str(journal_path),
         f"experiments/lab/{scenario}.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    journal = json.loads(journal_path.read_text())
    report = journal["zerospof"]
    failed = [c["message"] for c in report["checks"] + report["conditions"] if not c["passed"]]
    assert completed.returncode == (0 if report["passed"] else 1)
    assert report["passed"], failed
    assert report["measurements"]["detection_s"]["value"] is not None
    run_dir = REPO / report["run_dir"]
    assert (run_dir / "timeline.jsonl").exists() and (run_dir / "measurements.json").exists()
    print(f"\n{scenario}: " + "; ".join(c["message"] for c in report["checks"]))
