"""An AWS experiment whose ``rollbacks`` are empty still leaves nothing injected: the measurement control and the
runner revert every open record of the run; the run fails and says what was left (moto stands in for AWS)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import yaml

from tests.aws.moto_world import REGION, ZONES, acl_ids, alb_world_on_server, associations, target_document, write_target
from tests.aws.test_chaos_run import alb_target_group
from tests.helpers import REPO, wait_for
from zerospof.chaos.runner import run_experiment_file
from zerospof.faults import Ledger


def experiment_without_rollbacks(tmp_path: Path) -> Path:
    experiment = yaml.safe_load((REPO / "experiments" / "aws" / "az-failure.yaml").read_text())
    experiment["rollbacks"] = []
    path = tmp_path / "az-failure-no-rollbacks.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


def configuration(tmp_path: Path, target: Path, **extra: str) -> dict[str, str]:
    return {"zerospof_target": str(target), "zerospof_objectives": str(REPO / "objectives.yaml"),
            "zerospof_ledger_dir": str(tmp_path / "ledger"), "zerospof_run_dir": str(tmp_path / "run"),
            "zerospof_recovery_timeout": "1s", "zerospof_baseline": "300ms", "zerospof_settle": "300ms", **extra}


def test_rollbacks_empty_still_reverts_the_blackhole_and_the_run_fails_saying_so(staging, endpoint, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    group = alb_target_group(ec2, staging["vpc_id"], staging["tagged"][ZONES[0]][0])
    document = target_document(endpoints=[{"name": "app", "url": endpoint.url}],
                               detection={"alb_target_groups": [{"region": REGION, "arn": group}]})
    document.pop("kubernetes")
    before, acls_before = associations(ec2), acl_ids(ec2)

    result = run_experiment_file(experiment_without_rollbacks(tmp_path),
                                 configuration(tmp_path, write_target(tmp_path, document)))

    assert Ledger(tmp_path / "ledger").run_records(result.journal["experiment"]["configuration"]["zerospof_run_id"])
    assert associations(ec2) == before and acl_ids(ec2) == acls_before
    assert Ledger(tmp_path / "ledger").open_records() == []
    conditions = {c["name"]: c["passed"] for c in result.report["conditions"]}
    assert conditions["fault-in-effect"] is True and conditions["fault-reverted"] is False  # the experiment did not
    assert result.passed is False and (tmp_path / "run" / "measurements.json").exists()


SIGINT_CHILD = textwrap.dedent('''
    """Test stand-in: `zerospof run az-failure` whose scenario experiment is the one without rollbacks."""
    import sys
    from pathlib import Path
    from zerospof import run as run_module
    from zerospof.cli import main

    experiment, target, objectives, reports = sys.argv[1:5]
    run_module.experiment_path = lambda kind, scenario: Path(experiment)
    sys.exit(main(["run", "az-failure", "--target", target, "--objectives", objectives, "--reports", reports]))
''')


def test_rollbacks_empty_and_ctrl_c_during_the_fault_end_with_moto_restored_and_a_report(moto_server, endpoint, tmp_path):
    ec2, document = alb_world_on_server(moto_server, endpoint.url, "10.20.0.10")
    experiment = yaml.safe_load(experiment_without_rollbacks(tmp_path).read_text())
    experiment["configuration"].update(zerospof_recovery_timeout="2min", zerospof_baseline="300ms",
                                       zerospof_settle="300ms")
    experiment_file = tmp_path / "experiment.yaml"
    experiment_file.write_text(yaml.safe_dump(experiment, sort_keys=False))
    script = tmp_path / "run_without_rollbacks.py"
    script.write_text(SIGINT_CHILD)
    ledger = Ledger(os.environ["ZEROSPOF_LEDGER_DIR"])
    before, acls_before = associations(ec2), acl_ids(ec2)

    child = subprocess.Popen([sys.executable, str(script), str(experiment_file), str(write_target(tmp_path, document)),
                              str(REPO / "objectives.yaml"), str(tmp_path / "reports")], cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        in_effect, _ = wait_for(lambda: any(r.state == "verified" for r in ledger.open_records()), 60, 0.1)
        assert in_effect, "the fault never took effect"
        assert associations(ec2) != before
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()

    assert "Traceback" not in err, err
    assert child.returncode == 3  # interrupted: a harness outcome (exit 3), never a pass; the fault is reverted
    assert associations(ec2) == before and acl_ids(ec2) == acls_before
    assert ledger.open_records() == []
    [summary] = list((tmp_path / "reports").glob("*/summary.md"))
    [measurements] = list((tmp_path / "reports").glob("*/az-failure/measurements.json"))
    assert json.loads(measurements.read_text())["passed"] is False
    assert "az-failure" in summary.read_text()
