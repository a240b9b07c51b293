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

from tests.aws.moto_world import REGION, ZONES, acl_ids, associations, make_staging_vpc, target_document, write_target
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
