"""The real ``chaos`` CLI on AWS experiments: zerospof's exit codes, the journal kept, ``chaos report`` shows the measurements.

- No credentials: ``chaos run`` exits 3 (harness or target error), not chaostoolkit's 1, and still writes the journal.
- A malformed objectives or target file: exits 2 (bad input) before any fault, every error of the file on the console.
- A measured run on a moto server whose detection is not measured (moto never flips the ALB's target health):
  exits 1 (objective missed); ``chaos report`` (chaostoolkit-reporting) on its journal shows each objective.

The runs are child processes (``chaos`` next to this Python) talking to a moto server on 127.0.0.1 and to a
local HTTP endpoint standing in for the users' path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.aws.moto_world import alb_world_on_server, associations, write_target
from tests.aws.test_gate_outcomes import child_env, moto_env
from tests.test_file_schemas import broken
from zerospof.faults import Ledger

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXPERIMENT = REPO / "experiments" / "aws" / "az-failure.yaml"
EXAMPLE = REPO / "targets" / "staging.example.yaml"


def chaos_run(tmp_path: Path, env: dict[str, str], **configuration: str) -> tuple[subprocess.CompletedProcess, dict]:
    """``chaos run EXPERIMENT --var key=value ...``; return the process and the journal it wrote."""
    journal = tmp_path / "journal.json"
    variables = [arg for key, value in {"zerospof_objectives": str(REPO / "objectives.yaml"),
                                        "zerospof_run_dir": str(tmp_path / "run"), **configuration}.items()
                 for arg in ("--var", f"{key}={value}")]
    child = subprocess.run([str(BIN / "chaos"), "--log-file", str(tmp_path / "chaostoolkit.log"), "run",
                            "--journal-path", str(journal), *variables, str(EXPERIMENT)],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    return child, json.loads(journal.read_text())


def test_chaos_run_without_credentials_exits_3_and_keeps_the_journal(tmp_path):
    child, journal = chaos_run(tmp_path, child_env(tmp_path), zerospof_target=str(EXAMPLE))

    assert child.returncode == 3, child.stdout[-3000:] + child.stderr[-3000:]
    assert journal["status"] == "interrupted" and journal["run"] == []
    assert "NoCredentialsError" in journal["zerospof"]["error"]
    assert "NoCredentialsError" in child.stderr + child.stdout
    assert Ledger(tmp_path / "ledger").records() == []


@pytest.mark.parametrize("kind", ["objectives", "target"])
def test_chaos_run_with_a_malformed_file_exits_2_reporting_every_error_before_any_fault(tmp_path, kind):
    path, expected = broken(tmp_path, kind)
    files = {"zerospof_objectives": str(REPO / "objectives.yaml"), "zerospof_target": str(EXAMPLE),
             f"zerospof_{kind}": str(path)}

    child, journal = chaos_run(tmp_path, child_env(tmp_path), **files)

    output = child.stderr + child.stdout
    assert child.returncode == 2, output[-3000:]
    for key, value in expected.items():
        assert f"{path}: {key}: " in output and repr(value) in output, key
    assert journal["status"] == "interrupted" and journal["run"] == []
    assert Ledger(tmp_path / "ledger").records() == []


@pytest.fixture
def moto_world(moto_server, endpoint, tmp_path):
    ec2, document = alb_world_on_server(moto_server, endpoint.url, "10.0.0.10")
    return ec2, write_target(tmp_path, document)


@pytest.mark.slow
def test_a_measured_chaos_run_exits_1_on_a_missed_objective_and_chaos_report_shows_every_objective(moto_world, tmp_path):
    ec2, target = moto_world
    before = associations(ec2)
    child, journal = chaos_run(tmp_path, moto_env(tmp_path), zerospof_target=str(target),
                               zerospof_recovery_timeout="1500ms", zerospof_baseline="500ms", zerospof_settle="500ms")

    assert child.returncode == 1, child.stdout[-3000:] + child.stderr[-3000:]  # detection not measured: missed
    assert journal["zerospof"]["passed"] is False and journal["deviated"] is True
    assert associations(ec2) == before

    report = tmp_path / "report.md"
    reported = subprocess.run([str(BIN / "chaos"), "--log-file", str(tmp_path / "report.log"), "report",
                               "--export-format=markdown", str(tmp_path / "journal.json"), str(report)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert reported.returncode == 0, reported.stdout[-3000:] + reported.stderr[-3000:]
    text = report.read_text()
    checks = journal["zerospof"]["checks"]
    assert checks
    for check in checks:  # each judged objective is a probe of the report, with its verdict and figures
        assert f"Probe - objective {check['measurement']}" in text
        assert f"'passed': {check['passed']}" in text
    [detection] = [check for check in checks if check["measurement"] == "detection_s"]
    assert detection["measured"] is None and "'measured': None" in text and detection["message"][:40] in text
