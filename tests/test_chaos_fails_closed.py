"""``chaos run`` fails closed: a measurement control that cannot start stops the experiment before any fault.

None of these reach a target: the control refuses first, so they run without the lab. The ledger
directory proves nothing was injected; the journal and the exit code prove nobody reads a pass.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CHAOS = REPO / ".venv" / "bin" / "chaos"


def _experiment(tmp_path: Path, **configuration: object) -> Path:
    experiment = yaml.safe_load((REPO / "experiments" / "lab" / "az-failure.yaml").read_text())
    experiment["configuration"].update({"zerospof_ledger_dir": str(tmp_path / "ledger"),
                                        "zerospof_run_dir": str(tmp_path / "run"), **configuration})
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment))
    return path


def _malformed_objectives(tmp_path: Path) -> Path:
    data = yaml.safe_load((REPO / "objectives.yaml").read_text())
    data["components"]["data-plane"]["rto"] = "-5min"
    path = tmp_path / "objectives.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _chaos_run(tmp_path: Path, experiment: Path) -> tuple[subprocess.CompletedProcess, dict]:
    journal_path = tmp_path / "journal.json"
    completed = subprocess.run(
        [str(CHAOS), "--log-file", str(tmp_path / "chaostoolkit.log"), "run", "--journal-path", str(journal_path),
         str(experiment)], cwd=REPO, capture_output=True, text=True, timeout=120)
    return completed, json.loads(journal_path.read_text())


@pytest.mark.parametrize(("case", "configuration", "expected"), [
    ("malformed objectives", {"zerospof_objectives": "MALFORMED"}, "components.data-plane.rto"),
    ("missing objectives file", {"zerospof_objectives": "no-such-objectives.yaml"}, "no-such-objectives.yaml"),
    ("unknown zerospof key", {"zerospof_recovery_timout": "60s"}, "zerospof_recovery_timout"),
])
def test_chaos_run_with_bad_input_injects_nothing_and_exits_non_zero(tmp_path, case, configuration, expected):
    if configuration.get("zerospof_objectives") == "MALFORMED":
        configuration = {"zerospof_objectives": str(_malformed_objectives(tmp_path))}
    completed, journal = _chaos_run(tmp_path, _experiment(tmp_path, **configuration))
    assert completed.returncode != 0, f"{case}: chaos exited 0"
    assert journal["status"] != "completed" and journal["zerospof"]["passed"] is False
    assert expected in journal["zerospof"]["error"]
    assert expected in completed.stderr + completed.stdout  # on the console, not only in the journal
    assert [r["activity"]["name"] for r in journal["run"]] == []  # the method never ran: no fault
    ledger = tmp_path / "ledger"
    assert not ledger.exists() or not any(ledger.iterdir()), f"{case}: a ledger record was written"
