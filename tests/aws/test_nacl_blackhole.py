"""The NACL blackhole against moto: the AZ's tagged subnets go to a deny-all NACL, and all comes back."""

from __future__ import annotations

import boto3
import pytest

from tests.aws.moto_world import ACCOUNT, REGION, TAGS, ZONES, acl_ids, associations
from zerospof.aws.nacl_blackhole import NaclBlackhole
from zerospof.errors import FaultError, FaultNotInEffect
from zerospof.faults import Ledger, injected


def blackhole(zones: list[str], **extra: object) -> NaclBlackhole:
    return NaclBlackhole({"region": REGION, "availability_zones": zones, "selection_tags": dict(TAGS),
                          "allowed_account_ids": [ACCOUNT], "runner_subnet_ids": [], **extra})


def test_az_blackhole_moves_only_the_zones_tagged_subnets_to_a_deny_all_nacl(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before, acls_before = associations(ec2), acl_ids(ec2)
    with injected(blackhole([ZONES[0]]), ledger=Ledger(tmp_path)):
        during = associations(ec2)
        deny_acl = during[staging["tagged"][ZONES[0]][0]]
        assert deny_acl not in acls_before
        assert all(during[subnet] == deny_acl for subnet in staging["tagged"][ZONES[0]])
        untouched = [s for zone in ZONES[1:] for s in staging["tagged"][zone]] + [staging["untagged"]]
        assert all(during[subnet] == before[subnet] for subnet in untouched)
        entries = ec2.describe_network_acls(NetworkAclIds=[deny_acl])["NetworkAcls"][0]["Entries"]
        assert all(entry["RuleAction"] == "deny" for entry in entries)
    assert associations(ec2) == before
    assert acl_ids(ec2) == acls_before


def test_region_blackhole_cuts_every_tagged_subnet_of_the_region(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before = associations(ec2)
    with injected(blackhole([]), ledger=Ledger(tmp_path)):
        during = associations(ec2)
        tagged = [s for zone in ZONES for s in staging["tagged"][zone]]
        assert len({during[s] for s in tagged}) == 1 and during[tagged[0]] != before[tagged[0]]
        assert during[staging["untagged"]] == before[staging["untagged"]]
    assert associations(ec2) == before


def test_revert_is_idempotent_and_safe_before_inject(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before, acls_before = associations(ec2), acl_ids(ec2)
    fault = blackhole([ZONES[1]])
    fault.revert()  # before prepare: nothing recorded, nothing done
    fault.prepare()
    fault.revert()  # before inject
    fault.inject()
    fault.verify()
    fault.revert()
    fault.revert()
    assert associations(ec2) == before and acl_ids(ec2) == acls_before


def test_a_fault_rebuilt_from_its_ledger_record_reverts_an_injection(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before, acls_before = associations(ec2), acl_ids(ec2)
    ledger = Ledger(tmp_path)
    fault = blackhole([ZONES[0]])
    record = ledger.open(fault)
    fault.inject()
    record.step(record.state.INJECTED, fault)
    assert associations(ec2) != before
    reports = ledger.revert_open()
    assert [report.reverted for report in reports] == [True]
    assert associations(ec2) == before and acl_ids(ec2) == acls_before
    assert ledger.open_records() == []


def test_verify_reports_a_subnet_put_back_by_someone_else(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    fault = blackhole([ZONES[0]])
    fault.prepare()
    fault.inject()
    subnet = staging["tagged"][ZONES[0]][0]
    original = next(s["original_acl_id"] for s in fault.undo["subnets"] if s["subnet_id"] == subnet)
    association = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])
    association_id = next(a["NetworkAclAssociationId"] for a in association["NetworkAcls"][0]["Associations"]
                          if a["SubnetId"] == subnet)
    ec2.replace_network_acl_association(AssociationId=association_id, NetworkAclId=original)
    with pytest.raises(FaultNotInEffect, match=subnet):
        fault.verify()
    fault.revert()


def test_a_zone_without_tagged_subnets_is_refused_before_any_change(aws, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24", AvailabilityZone=ZONES[0])
    before, acls_before = associations(ec2), acl_ids(ec2)
    with pytest.raises(FaultError, match="selection tags"):
        with injected(blackhole([ZONES[0]]), ledger=Ledger(tmp_path)):
            pass
    assert associations(ec2) == before and acl_ids(ec2) == acls_before


def test_subnet_ids_narrow_the_blackhole_to_those_tagged_subnets(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before = associations(ec2)
    one = staging["tagged"][ZONES[0]][0]
    with injected(blackhole([ZONES[0]], subnet_ids=[one]), ledger=Ledger(tmp_path)):
        during = associations(ec2)
        assert [subnet for subnet in before if during[subnet] != before[subnet]] == [one]
    assert associations(ec2) == before


def test_subnet_ids_never_widen_the_selection_to_an_untagged_subnet(staging, tmp_path):
    with pytest.raises(FaultError, match="selection tags"):
        with injected(blackhole([ZONES[0]], subnet_ids=[staging["untagged"]]), ledger=Ledger(tmp_path)):
            pass
