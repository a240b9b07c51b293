"""History of real game days: two runs on the lab, back to back, both in ``zerospof history`` and its page."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from zerospof.history import find_runs

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[1]
ZEROSPOF = REPO / ".venv" / "bin" / "zerospof"


def test_two_game_days_back_to_back_are_both_in_the_history(running_lab, tmp_path):
    for scenario in ("control-plane", "gitops"):
        completed = subprocess.run([str(ZEROSPOF), "run", scenario, "--reports", str(tmp_path)], cwd=REPO,
                                   capture_output=True, text=True, timeout=600)
        assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    runs = find_runs([tmp_path])
    assert [sorted(run.scenarios) for run in runs] == [["control-plane"], ["gitops"]]
    assert all(run.passed for run in runs)
    listing = subprocess.run([str(ZEROSPOF), "history", "--reports", str(tmp_path)], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0 and all(run.run_id in listing.stdout for run in runs)
    page = (tmp_path / "index.html").read_text()
    assert all(run.run_id in page for run in runs)
    assert all((Path(run.directory) / "index.html").exists() for run in runs)
