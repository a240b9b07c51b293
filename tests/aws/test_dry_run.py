"""Dry run prints every call that would change something, and changes nothing."""

from __future__ import annotations

import io

import boto3

from tests.aws.moto_world import (
    REGION, ZONES, acl_ids, associations, fis_experiments, make_aurora_cluster, target_document, write_target,
)
from zerospof.aws.run import print_dry_run
from zerospof.faults import Ledger


def test_dry_run_of_an_az_failure_prints_each_change_and_touches_nothing(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before, acls_before = associations(ec2), acl_ids(ec2)
    document = target_document()  # a manual region failover must not show up in an AZ failure
    document["scenarios"]["region-failure"] = {"recovery": "manual", "aurora_failover": {"cluster_id": "staging-aurora"}}
    out = io.StringIO()
    [run] = print_dry_run(write_target(tmp_path, document), ["az-failure"], out=out)
    printed = out.getvalue()
    operations = [(call.service, call.operation) for call in run.planned_calls]
    assert operations == [("ec2", "CreateNetworkAcl")] + [("ec2", "CreateTags"), ("ec2", "ReplaceNetworkAclAssociation")] * 2
    for subnet in staging["tagged"][ZONES[0]]:
        assert subnet in printed  # the recorded original association of each targeted subnet
    assert printed.count("DRY-RUN ec2 ReplaceNetworkAclAssociation") == 2
    assert '"NetworkAclId": "dry-run-NetworkAclId"' in printed
    assert associations(ec2) == before and acl_ids(ec2) == acls_before
    assert run.dr_action is None
    assert Ledger().records() == []  # $ZEROSPOF_LEDGER_DIR of this test


def test_dry_run_of_a_manual_region_failover_prints_the_dr_call(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    rds = boto3.client("rds", region_name="us-east-1")
    make_aurora_cluster(rds, "staging-aurora")
    before = associations(ec2)
    document = target_document()
    document["scenarios"]["region-failure"] = {"recovery": "manual", "aurora_failover": {"cluster_id": "staging-aurora"}}
    out = io.StringIO()
    [run] = print_dry_run(write_target(tmp_path, document), ["region-failure"], out=out)
    assert ("rds", "FailoverDBCluster") in [(c.service, c.operation) for c in run.planned_calls]
    replaced = [c for c in run.planned_calls if c.operation == "ReplaceNetworkAclAssociation"]
    assert len(replaced) == 6  # every tagged subnet of the region, not the untagged one
    assert "DRY-RUN rds FailoverDBCluster" in out.getvalue()
    assert associations(ec2) == before


def test_dry_run_of_a_fis_az_failure_prints_the_chaosaws_start_and_starts_nothing(aws, tmp_path):
    fis = boto3.client("fis", region_name=REGION)
    document = target_document()
    document["scenarios"]["az-failure"] = {"availability_zone": ZONES[0], "fis_power_interruption_template_id": "EXTpower1"}
    out = io.StringIO()
    [run] = print_dry_run(write_target(tmp_path, document), ["az-failure"], out=out)
    assert [(call.service, call.operation) for call in run.planned_calls] == [("fis", "chaosaws.fis.actions.start_experiment")]
    assert run.planned_calls[0].parameters["experiment_template_id"] == "EXTpower1"  # not in moto: running it would fail
    assert "DRY-RUN fis chaosaws.fis.actions.start_experiment" in out.getvalue()
    assert fis_experiments(fis) == {}
    assert Ledger().records() == []
