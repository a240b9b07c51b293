"""``zerospof revert --target FILE`` on a fresh runner: no ledger, the leftovers are found in the target itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.aws.moto_world import (
    REGION, TAGS, ZONES, acl_ids, associations, fis_experiments, make_fis_template, make_staging_vpc, target_document,
    write_target,
)
from tests.aws.test_nacl_blackhole_sigkill import run_child_until_stalled
from zerospof.aws.fis import FisExperiment
from zerospof.aws.leftovers import restore_leftovers
from zerospof.aws.nacl_blackhole import ORIGINAL_TAG, NaclBlackhole
from zerospof.aws.target import load_aws_target
from zerospof.faults import Ledger, apply
from zerospof.cli import main
from zerospof.errors import FaultError
from zerospof.faults.ledger import default_ledger_dir

REPO = Path(__file__).resolve().parents[2]


def blackhole(staging: dict, tmp_path: Path) -> NaclBlackhole:
    fault = NaclBlackhole({"region": REGION, "availability_zones": [ZONES[0]], "selection_tags": dict(TAGS),
                           "allowed_account_ids": ["123456789012"], "runner_subnet_ids": []})
    apply(fault, Ledger(tmp_path / "lost-with-the-runner"))
    return fault


def test_a_blackhole_whose_ledger_is_gone_is_found_and_restored_from_the_target_itself(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before, acls_before = associations(ec2), acl_ids(ec2)
    blackhole(staging, tmp_path)
    assert associations(ec2) != before

    found = restore_leftovers(load_aws_target(write_target(tmp_path, target_document())))

    assert associations(ec2) == before and acl_ids(ec2) == acls_before
    assert sorted(f.resource for f in found if f.kind == "nacl-association") == sorted(staging["tagged"][ZONES[0]])
    assert all(f.restored for f in found)
    tags = ec2.describe_tags(Filters=[{"Name": "key", "Values": [ORIGINAL_TAG]}])["Tags"]
    assert tags == []  # the subnets carry no zerospof tag any more
    assert restore_leftovers(load_aws_target(write_target(tmp_path, target_document()))) == []  # idempotent


def test_a_subnet_on_a_deny_all_nacl_without_its_original_tag_is_left_alone_and_reported(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    blackhole(staging, tmp_path)
    subnet = staging["tagged"][ZONES[0]][0]
    ec2.delete_tags(Resources=[subnet], Tags=[{"Key": ORIGINAL_TAG}])
    during = associations(ec2)

    found = restore_leftovers(load_aws_target(write_target(tmp_path, target_document())))

    [stuck] = [f for f in found if not f.restored and f.resource == subnet]
    assert "original NACL is unknown" in stuck.error
    assert associations(ec2)[subnet] == during[subnet]  # fails closed: not guessed


def test_a_running_fis_experiment_tagged_by_zerospof_is_stopped(aws, tmp_path):
    fis = boto3.client("fis", region_name=REGION)
    template = make_fis_template(fis)
    fault = FisExperiment({"region": REGION, "template_id": template, "allowed_account_ids": ["123456789012"]})
    apply(fault, Ledger(tmp_path / "lost-with-the-runner"))
    untagged = fis.start_experiment(experimentTemplateId=template, clientToken="not-ours")["experiment"]["id"]

    found = restore_leftovers(load_aws_target(write_target(tmp_path, target_document())))

    states = {i: e["status"] for i, e in fis_experiments(fis).items()}
    [stopped] = [f for f in found if f.kind == "fis-experiment"]
    assert stopped.restored and states[stopped.resource] in ("stopping", "stopped")
    assert states[untagged] in ("pending", "running")  # not ours: untouched


def test_zerospof_revert_with_a_target_file_restores_a_killed_run_on_a_fresh_runner(moto_server, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto_server)
    make_staging_vpc(ec2)
    before, acls_before = associations(ec2), acl_ids(ec2)
    run_child_until_stalled(moto_server, tmp_path / "old-runner-ledger", tmp_path, swaps=1)
    assert associations(ec2) != before
    fresh = tmp_path / "fresh-runner"
    fresh.mkdir()
    document = target_document()
    document["aws"]["endpoint_url"] = moto_server
    target = write_target(tmp_path, document)
    env = {**os.environ, "PYTHONPATH": str(REPO), "ZEROSPOF_LEDGER_DIR": str(fresh / "ledger")}

    child = subprocess.run([sys.executable, "-m", "zerospof.cli", "revert", "--target", str(target)], cwd=fresh,
                           env=env, capture_output=True, text=True, timeout=120)

    assert child.returncode == 0, child.stdout + child.stderr
    assert "nothing to revert: no open ledger record in " + str(fresh / "ledger") in child.stdout
    assert "restored" in child.stdout
    assert associations(ec2) == before and acl_ids(ec2) == acls_before


def test_the_default_ledger_is_absolute_and_the_same_from_any_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("ZEROSPOF_LEDGER_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    here = default_ledger_dir()
    monkeypatch.chdir("/")
    assert default_ledger_dir() == here == tmp_path / "state" / "zerospof" / "ledger"
    monkeypatch.setenv("ZEROSPOF_LEDGER_DIR", "relative/ledger")
    assert default_ledger_dir() == Path("/relative/ledger")


@pytest.mark.parametrize("argv", [["revert", "--target", "lab"]])
def test_revert_target_refuses_the_lab_as_bad_input(argv, tmp_path):
    child = subprocess.run([sys.executable, "-m", "zerospof.cli", *argv], cwd=REPO, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPO), "ZEROSPOF_LEDGER_DIR": str(tmp_path)}, timeout=60)
    assert child.returncode == 2 and "--target" in child.stderr


def test_a_ledger_mirrored_to_s3_is_replayed_by_a_fresh_runner(staging, monkeypatch, tmp_path):
    ec2, s3 = boto3.client("ec2", region_name=REGION), boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="zs-ledger", CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.setenv("ZEROSPOF_LEDGER_MIRROR", "s3://zs-ledger/staging")
    before = associations(ec2)
    blackhole(staging, tmp_path)  # its ledger directory dies with the runner; the mirror stays
    fresh = tmp_path / "fresh-ledger"
    monkeypatch.chdir(tmp_path)

    status = main(["revert", "--ledger", str(fresh)])

    assert status == 0
    assert associations(ec2) == before
    [record] = Ledger(fresh).records()
    assert record.data["state"] == "reverted"
    mirrored = json.loads(s3.get_object(Bucket="zs-ledger", Key=f"staging/{record.path.name}")["Body"].read())
    assert mirrored["state"] == "reverted"  # the replay's own steps are mirrored too


def test_a_fault_whose_record_cannot_be_mirrored_is_not_started(staging, monkeypatch, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    monkeypatch.setenv("ZEROSPOF_LEDGER_MIRROR", "s3://no-such-bucket/staging")
    before = associations(ec2)
    with pytest.raises(FaultError, match="no fault started"):
        blackhole(staging, tmp_path)
    assert associations(ec2) == before


def test_security_group_rules_cut_by_a_run_whose_ledger_is_gone_are_authorized_back(aws, tmp_path):
    from tests.aws.test_sg_ingress_cut import cut, ingress, make_groups

    ec2 = boto3.client("ec2", region_name=REGION)
    control, untagged = make_groups(ec2)
    before = ingress(ec2, control)
    apply(cut(), Ledger(tmp_path / "lost-with-the-runner"))
    assert ingress(ec2, control) != before

    found = restore_leftovers(load_aws_target(write_target(tmp_path, target_document())))

    [group] = [f for f in found if f.kind == "security-group"]
    assert group.restored and group.resource == control
    assert ingress(ec2, control) == before
    tags = {t["Key"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [control]}])["Tags"]}
    assert not any(key.startswith("zerospof:") for key in tags)
    assert restore_leftovers(load_aws_target(write_target(tmp_path, target_document()))) == []
