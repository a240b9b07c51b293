"""Under a plain ``chaos run`` (chaoslib alone, none of zerospof's own validation first), an invalid ``zerospof_*``
value still stops the run before the method: nothing is injected (moto stands in for AWS)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import yaml
from chaoslib.run import Runner
from chaoslib.types import Strategy

from tests.aws.moto_world import REGION, acl_ids, associations, target_document, write_target
from zerospof.faults import Ledger

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key, value", [("zerospof_abort_floor", 2), ("zerospof_recovery_timeout", "5 parsecs"),
                                        ("zerospof_settle", float("nan")), ("zerospof_ready_timout", "1s")])
def test_an_invalid_zerospof_value_interrupts_a_plain_chaos_run_before_any_fault(staging, endpoint, tmp_path, key, value):
    ec2 = boto3.client("ec2", region_name=REGION)
    document = target_document(endpoints=[{"name": "app", "url": endpoint.url}])
    document.pop("kubernetes")
    experiment = yaml.safe_load((REPO / "experiments" / "aws" / "az-failure.yaml").read_text())
    experiment["configuration"].update({"zerospof_target": str(write_target(tmp_path, document)),
                                        "zerospof_objectives": str(REPO / "objectives.yaml"),
                                        "zerospof_run_dir": str(tmp_path / "run"), key: value})
    before = (associations(ec2), acl_ids(ec2))

    with Runner(Strategy.DEFAULT) as runner:
        journal = runner.run(experiment, settings={"runtime": {"rollbacks": {"strategy": "always"}}})

    assert journal["status"] == "interrupted" and journal["run"] == []  # the method never ran
    assert (associations(ec2), acl_ids(ec2)) == before
    assert Ledger().records() == []  # $ZEROSPOF_LEDGER_DIR of this test
