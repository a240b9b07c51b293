"""Under a plain ``chaos run`` (chaoslib alone, none of zerospof's own validation first), an invalid ``zerospof_*``
value still stops the run before the method: nothing is injected (moto stands in for AWS)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import yaml
from chaoslib.run import Runner
from chaoslib.types import Strategy

from tests.aws.moto_world import REGION, ZONES, acl_ids, associations, target_document, write_target
from tests.aws.test_chaos_run import alb_target_group
from zerospof.faults import Ledger

REPO = Path(__file__).resolve().parents[2]


def plain_chaos_run(staging, endpoint, tmp_path, zones: list[str] | None = None, **configuration) -> dict:
    """Run experiments/aws/az-failure.yaml through chaoslib alone, against moto, with ``configuration`` on top
    (and the primary region's zones replaced by ``zones``)."""
    group = alb_target_group(boto3.client("ec2", region_name=REGION), staging["vpc_id"], staging["tagged"][ZONES[0]][0])
    document = target_document(endpoints=[{"name": "app", "url": endpoint.url}],
                               detection={"alb_target_groups": [{"region": REGION, "arn": group}]})
    document.pop("kubernetes")
    if zones is not None:
        document["aws"]["availability_zones"][REGION] = zones
    experiment = yaml.safe_load((REPO / "experiments" / "aws" / "az-failure.yaml").read_text())
    experiment["configuration"].update({"zerospof_target": str(write_target(tmp_path, document)),
                                        "zerospof_objectives": str(REPO / "objectives.yaml"),
                                        "zerospof_run_dir": str(tmp_path / "run"), "zerospof_baseline": "200ms",
                                        "zerospof_settle": "200ms", "zerospof_recovery_timeout": "500ms",
                                        **configuration})
    with Runner(Strategy.DEFAULT) as runner:
        return runner.run(experiment, settings={"runtime": {"rollbacks": {"strategy": "always"}}})


def test_the_same_run_with_valid_values_does_inject_and_revert(staging, endpoint, tmp_path):
    """The baseline: what the refusals below prevent is a real injection."""
    ec2 = boto3.client("ec2", region_name=REGION)
    before = (associations(ec2), acl_ids(ec2))
    journal = plain_chaos_run(staging, endpoint, tmp_path)
    assert [run["activity"]["name"] for run in journal["run"]][0] == "lose-az"
    assert [r.state for r in Ledger().records()] == ["reverted"]
    assert (associations(ec2), acl_ids(ec2)) == before


@pytest.mark.parametrize("key, value", [("zerospof_abort_floor", 2), ("zerospof_recovery_timeout", "5 parsecs"),
                                        ("zerospof_settle", float("nan")), ("zerospof_ready_timout", "1s")])
def test_an_invalid_zerospof_value_interrupts_a_plain_chaos_run_before_any_fault(staging, endpoint, tmp_path, key, value):
    ec2 = boto3.client("ec2", region_name=REGION)
    before = (associations(ec2), acl_ids(ec2))

    journal = plain_chaos_run(staging, endpoint, tmp_path, **{key: value})

    assert journal["status"] == "interrupted" and journal["run"] == []  # the method never ran
    assert (associations(ec2), acl_ids(ec2)) == before
    assert Ledger().records() == []  # $ZEROSPOF_LEDGER_DIR of this test


def test_a_zone_the_account_lacks_interrupts_a_plain_chaos_run_before_the_steady_state_probe(staging, endpoint, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before = (associations(ec2), acl_ids(ec2))

    journal = plain_chaos_run(staging, endpoint, tmp_path, zones=[ZONES[0], "us-west-2z"])

    assert journal["status"] == "interrupted" and journal["run"] == []
    assert journal.get("steady_states", {}).get("before") is None  # not even the steady-state probe ran
    assert (associations(ec2), acl_ids(ec2)) == before
    assert Ledger().records() == []


@pytest.mark.parametrize("objectives", ["scenarios:\n  gitops: {detection: '< 30s', recovery: automatic}\ncomponents: {}\n",
                                        "scenarios:\n  az-failure: {detection: .nan, recovery: automatic}\ncomponents: {}\n"],
                         ids=["no objectives for the scenario", "non-finite detection"])
def test_bad_objectives_interrupt_a_plain_chaos_run_before_any_fault(staging, endpoint, tmp_path, objectives):
    ec2 = boto3.client("ec2", region_name=REGION)
    before = (associations(ec2), acl_ids(ec2))
    path = tmp_path / "objectives.yaml"
    path.write_text(objectives)

    journal = plain_chaos_run(staging, endpoint, tmp_path, zerospof_objectives=str(path))

    assert journal["status"] == "interrupted" and journal["run"] == []
    assert (associations(ec2), acl_ids(ec2)) == before
    assert Ledger().records() == []
