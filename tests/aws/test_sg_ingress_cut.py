"""Managed control-plane fault: the nodes' path to the API endpoint is cut on the tagged security group, then restored."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.aws.moto_world import ACCOUNT, REGION, TAGS
from zerospof.aws.sg_ingress_cut import SecurityGroupIngressCut
from zerospof.errors import FaultError
from zerospof.faults import Ledger, injected

ROLE = {"zerospof/role": "eks-control-plane"}


def ingress(ec2, group_id):
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return sorted((p.get("IpProtocol"), p.get("FromPort"), p.get("ToPort"),
                   tuple(sorted(r["CidrIp"] for r in p.get("IpRanges", []))),
                   tuple(sorted(g["GroupId"] for g in p.get("UserIdGroupPairs", []))))
                  for p in group.get("IpPermissions", []))


def make_groups(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    tags = [{"Key": k, "Value": v} for k, v in {**TAGS, **ROLE}.items()]
    nodes = ec2.create_security_group(GroupName="nodes", Description="nodes", VpcId=vpc)["GroupId"]
    control = ec2.create_security_group(GroupName="cp", Description="cp", VpcId=vpc,
                                        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}])["GroupId"]
    untagged = ec2.create_security_group(GroupName="other", Description="other", VpcId=vpc)["GroupId"]
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    for group in (control, untagged):
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {**https, "UserIdGroupPairs": [{"GroupId": nodes}], "IpRanges": [{"CidrIp": "10.40.0.0/16"}]},
            {"IpProtocol": "tcp", "FromPort": 10250, "ToPort": 10250, "IpRanges": [{"CidrIp": "10.40.0.0/16"}]}])
    return control, untagged


def cut(**extra):
    return SecurityGroupIngressCut({"region": REGION, "selection_tags": dict(TAGS), "security_group_tags": dict(ROLE),
                                    "api_port": 443, "allowed_account_ids": [ACCOUNT], **extra})


def test_api_port_ingress_is_revoked_on_the_tagged_group_only_and_restored(aws, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    control, untagged = make_groups(ec2)
    before_control, before_untagged = ingress(ec2, control), ingress(ec2, untagged)
    with injected(cut(), ledger=Ledger(tmp_path)):
        assert [rule for rule in ingress(ec2, control) if rule[1] == 443] == []
        assert [rule for rule in ingress(ec2, control) if rule[1] == 10250]  # other ports untouched
        assert ingress(ec2, untagged) == before_untagged
    assert ingress(ec2, control) == before_control


def test_sg_cut_reverts_from_the_ledger_and_twice(aws, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    control, _ = make_groups(ec2)
    before = ingress(ec2, control)
    ledger = Ledger(tmp_path)
    fault = cut()
    ledger.open(fault)
    fault.inject()
    assert ingress(ec2, control) != before
    ledger.revert_open()
    fault.revert()
    assert ingress(ec2, control) == before


def test_no_tagged_group_is_refused(aws, tmp_path):
    with pytest.raises(FaultError, match="nothing to cut"):
        with injected(cut(security_group_tags={"zerospof/role": "absent"}), ledger=Ledger(tmp_path)):
            pass


def test_a_tampered_record_cannot_open_an_untagged_group_nor_another_port(aws, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    control, untagged = make_groups(ec2)
    before_control, before_untagged = ingress(ec2, control), ingress(ec2, untagged)
    ledger = Ledger(tmp_path)
    record = ledger.open(cut())
    ssh_from_anywhere = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    tampered = {**record.data, "id": "tampered", "undo": {"rules": {untagged: [ssh_from_anywhere],
                                                                    control: [ssh_from_anywhere]}}}
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))

    reports = {report.file: report for report in ledger.revert_open()}

    assert reports[record.path.name].reverted
    assert not reports["tampered.json"].reverted
    assert "does not carry the selection tags" in reports["tampered.json"].error
    assert "does not cover port 443" in reports["tampered.json"].error
    assert ingress(ec2, control) == before_control and ingress(ec2, untagged) == before_untagged
