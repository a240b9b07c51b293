"""Harness errors are told from platform failures, and no exit path leaves a fault in the target.

- No credentials: ``zerospof run`` exits 3 within seconds with the cause on its first line and at
  the top of ``summary.md``; the pytest gate reports every test as ERROR (never FAILED) and exits 3.
- The gate's time limit (pytest-timeout) firing mid-fault, a runner's SIGTERM and Ctrl-C (SIGINT):
  afterwards moto's NACL associations are the originals and the ledger has nothing open.

The runs are child processes talking to a moto server on 127.0.0.1 (its state outlives them) and
to a local HTTP endpoint standing in for the users' path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.aws.moto_world import REGION, alb_world_on_server, associations, write_target
from tests.helpers import wait_for
from zerospof.faults import Ledger

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "targets" / "staging.example.yaml"


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a child run: this repository first, no AWS credentials unless given, no metadata service."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(PYTHONPATH=str(REPO), AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), ZEROSPOF_LEDGER_DIR=str(tmp_path / "ledger"),
               HOME=str(tmp_path), **extra)
    return env


def moto_env(tmp_path: Path) -> dict[str, str]:
    return child_env(tmp_path, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                     AWS_DEFAULT_REGION=REGION, MOTO_EC2_LOAD_DEFAULT_AMIS="false")


def test_zerospof_run_without_credentials_exits_3_at_once_with_the_cause_on_the_first_line(tmp_path):
    started = time.monotonic()
    child = subprocess.run([sys.executable, "-m", "zerospof.cli", "run", "az-failure", "--target", str(EXAMPLE),
                            "--reports", str(tmp_path / "reports")], cwd=REPO, env=child_env(tmp_path),
                           capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started

    assert child.returncode == 3, child.stdout + child.stderr
    first_line = (child.stderr + child.stdout).splitlines()[0]
    assert first_line.startswith("error: no access to AWS") and "NoCredentialsError" in first_line
    assert elapsed < 30  # not the 90 s readiness wait
    [run_dir] = (tmp_path / "reports").iterdir()
    summary = (run_dir / "summary.md").read_text().splitlines()[0]
    assert summary.startswith("**ERROR (exit 3)**") and "NoCredentialsError" in summary
    assert "NoCredentialsError" in json.loads((run_dir / "measurements.json").read_text())["error"]


def test_zerospof_run_json_reports_the_error_outcome(tmp_path):
    child = subprocess.run([sys.executable, "-m", "zerospof.cli", "run", "az-failure", "--target", str(EXAMPLE),
                            "--reports", str(tmp_path / "reports"), "--json"], cwd=REPO, env=child_env(tmp_path),
                           capture_output=True, text=True, timeout=120)

    assert child.returncode == 3
    document = json.loads(child.stdout)
    assert document["outcome"] == "error" and document["exit_code"] == 3
    assert "NoCredentialsError" in document["error"]


def test_the_gate_without_credentials_errors_every_test_with_the_cause_and_exits_3(tmp_path):
    started = time.monotonic()
    child = subprocess.run([sys.executable, "-m", "pytest", "scenarios", "-p", "no:cacheprovider", "-q",
                            "--target", str(EXAMPLE), "--scenario", "az-failure", "-o", "addopts=",
                            f"--junitxml={tmp_path / 'junit.xml'}"], cwd=REPO, env=child_env(tmp_path),
                           capture_output=True, text=True, timeout=120)

    assert child.returncode == 3, child.stdout[-3000:]
    assert time.monotonic() - started < 60
    junit = (tmp_path / "junit.xml").read_text()
    assert 'failures="0"' in junit and 'errors="0"' not in junit
    assert "HarnessError" in junit and "NoCredentialsError" in junit
    assert " FAILED " not in child.stdout and "not judged" not in child.stdout


@pytest.mark.parametrize("option", [["--scenario", "az-failure"], ["-k", "az-failure"], ["-m", "gate", "-k", "gitops"]],
                         ids=["--scenario", "-k", "-m gate -k"])
def test_the_gates_scenario_selection_collects_that_scenarios_tests(tmp_path, option):
    child = subprocess.run([sys.executable, "-m", "pytest", "scenarios", "--collect-only", "-q", "-p", "no:cacheprovider",
                            "-o", "addopts=", *option], cwd=REPO, env=child_env(tmp_path),
                           capture_output=True, text=True, timeout=120)

    assert child.returncode == 0, child.stdout[-2000:]
    collected = [line for line in child.stdout.splitlines() if "::" in line]
    wanted = "test_gitops" if "gitops" in option else "test_az_failure"
    assert collected and all(wanted in line for line in collected)


def test_an_unknown_scenario_is_a_usage_error_naming_it(tmp_path):
    child = subprocess.run([sys.executable, "-m", "pytest", "scenarios", "--collect-only", "-q", "-p", "no:cacheprovider",
                            "-o", "addopts=", "--scenario", "az-failur"], cwd=REPO, env=child_env(tmp_path),
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 4 and "az-failur" in child.stderr


@pytest.fixture
def moto_world(moto_server, endpoint, tmp_path):
    """A tagged staging VPC on the moto server, an ALB target group, and a target file pointing at both."""
    ec2, document = alb_world_on_server(moto_server, endpoint.url, "10.0.0.10")
    return ec2, write_target(tmp_path, document)


def fault_in_effect(ledger_dir: Path) -> bool:
    return any(record.state.value == "verified" for record in Ledger(ledger_dir).open_records())


def assert_restored(ec2, before: dict[str, str], ledger_dir: Path) -> None:
    __tracebackhide__ = True
    records = Ledger(ledger_dir).records()
    assert records, "no fault was injected: the test proves nothing"
    assert any(step["state"] == "verified" for step in records[0].data["steps"])  # it was in effect
    assert associations(ec2) == before
    assert Ledger(ledger_dir).open_records() == []


@pytest.mark.slow
def test_the_gates_time_limit_firing_mid_fault_still_restores_the_nacl_associations(moto_world, tmp_path):
    ec2, target = moto_world
    before = associations(ec2)
    ledger_dir = tmp_path / "ledger"

    child = subprocess.run([sys.executable, "-m", "pytest", "scenarios", "-p", "no:cacheprovider", "-q", "-o", "addopts=",
                            "--target", str(target), "--scenario", "az-failure", "--time-limit", "15s"],
                           cwd=REPO, env=moto_env(tmp_path), capture_output=True, text=True, timeout=180)

    assert "the gate's time limit fired, nothing judged, faults reverted: Timeout (>15.0s) from pytest-timeout" \
        in child.stdout, child.stdout[-3000:]
    assert child.returncode == 3 and " FAILED " not in child.stdout
    assert_restored(ec2, before, ledger_dir)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_fault_reverts_and_zerospof_run_exits_3(moto_world, tmp_path, signum):
    ec2, target = moto_world
    before = associations(ec2)
    ledger_dir = tmp_path / "ledger"
    child = subprocess.Popen([sys.executable, "-m", "zerospof.cli", "run", "az-failure", "--target", str(target),
                              "--reports", str(tmp_path / "reports")], cwd=REPO, env=moto_env(tmp_path),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: fault_in_effect(ledger_dir) or child.poll() is not None, 60)
        assert child.poll() is None, child.stdout.read() if child.stdout else ""
        child.send_signal(signum)
        output, _ = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert child.returncode == 3, output[-3000:]
    assert "interrupted" in output
    assert_restored(ec2, before, ledger_dir)


@pytest.mark.slow
def test_the_runs_own_time_limit_interrupts_gracefully_and_reports_a_harness_error(moto_world, tmp_path):
    ec2, target = moto_world
    before = associations(ec2)
    ledger_dir = tmp_path / "ledger"
    script = tmp_path / "limited.py"
    script.write_text(
        "import json, sys\n"
        "from zerospof.chaos.runner import run_experiment_file\n"
        "r = run_experiment_file(sys.argv[1], {'zerospof_target': sys.argv[2], 'zerospof_run_dir': sys.argv[3]},"
        " limit_s=12)\n"
        "conditions = {c['name']: c['passed'] for c in r.report['conditions']}\n"
        "print(json.dumps({'outcome': r.outcome, 'error': r.error, 'conditions': conditions}))\n")
    child = subprocess.run([sys.executable, str(script), str(REPO / "experiments" / "aws" / "az-failure.yaml"),
                            str(target), str(tmp_path / "run")], cwd=REPO, env=moto_env(tmp_path),
                           capture_output=True, text=True, timeout=180)

    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.splitlines()[-1])
    assert result["outcome"] == "error" and "time limit (12s" in result["error"]
    assert result["conditions"]["fault-in-effect"] and not result["conditions"]["not-aborted"]  # interrupted mid-fault
    assert result["conditions"]["rollbacks-succeeded"] and result["conditions"]["fault-reverted"]
    assert_restored(ec2, before, ledger_dir)
