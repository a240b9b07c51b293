"""Managed control-plane fault: the nodes' path to the API endpoint is cut on the tagged security group, then restored."""

from __future__ import annotations

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
