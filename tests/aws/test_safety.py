"""Safety guards refuse before anything changes: account allow-list, self-lockout."""

from __future__ import annotations

import boto3
import pytest

from tests.aws.moto_world import ACCOUNT, REGION, TAGS, ZONES, acl_ids, associations, target_document, write_target
from zerospof.aws.driver import AwsDriver
from zerospof.aws.nacl_blackhole import NaclBlackhole
from zerospof.aws.run import print_dry_run
from zerospof.aws.target import load_aws_target
from zerospof.errors import SafetyRefusal
from zerospof.faults import Ledger, apply, injected


def test_an_account_not_on_the_allow_list_is_refused_and_nothing_changes(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before, acls_before = associations(ec2), acl_ids(ec2)
    fault = NaclBlackhole({"region": REGION, "availability_zones": [ZONES[0]], "selection_tags": dict(TAGS),
                           "allowed_account_ids": ["999999999999"], "runner_subnet_ids": []})
    with pytest.raises(SafetyRefusal, match=ACCOUNT):
        with injected(fault, ledger=Ledger(tmp_path / "ledger")):
            pass
    assert associations(ec2) == before and acl_ids(ec2) == acls_before


def test_runs_and_dry_runs_refuse_a_target_whose_allow_list_lacks_the_callers_account(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before = associations(ec2)
    document = target_document()
    document["aws"]["allowed_account_ids"] = ["999999999999"]
    path = write_target(tmp_path, document)
    with pytest.raises(SafetyRefusal, match="not in the target's allowed_account_ids"):
        print_dry_run(path, ["az-failure"])
    driver = AwsDriver(load_aws_target(path))
    with pytest.raises(SafetyRefusal, match="not in the target's allowed_account_ids"):
        driver.check_ready()
    with pytest.raises(SafetyRefusal, match="not in the target's allowed_account_ids"):
        apply(driver.fault("az-failure", {}), Ledger(tmp_path / "ledger"))  # the fault checks again itself
    assert associations(ec2) == before
    assert Ledger(tmp_path / "ledger").open_records() == []


def test_blackholing_the_runners_own_subnet_is_refused_unless_allowed(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before = associations(ec2)
    runner_subnet = staging["tagged"][ZONES[0]][1]
    params = {"region": REGION, "availability_zones": [ZONES[0]], "selection_tags": dict(TAGS),
              "allowed_account_ids": [ACCOUNT], "runner_subnet_ids": [runner_subnet]}
    with pytest.raises(SafetyRefusal, match=runner_subnet):
        with injected(NaclBlackhole(params), ledger=Ledger(tmp_path / "ledger")):
            pass
    assert associations(ec2) == before
    with injected(NaclBlackhole({**params, "allow_runner_blackhole": True}), ledger=Ledger(tmp_path / "ledger")):
        assert associations(ec2)[runner_subnet] != before[runner_subnet]
    assert associations(ec2) == before


def test_the_runner_subnet_from_the_target_file_protects_a_whole_run(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before = associations(ec2)
    document = target_document(safety={"runner": {"discover": False, "subnet_ids": [staging["tagged"][ZONES[0]][0]]}})
    fault = AwsDriver(load_aws_target(write_target(tmp_path, document))).fault("az-failure", {})
    with pytest.raises(SafetyRefusal, match="runner itself uses"):
        with injected(fault, ledger=Ledger(tmp_path / "ledger")):
            pass
    assert associations(ec2) == before
