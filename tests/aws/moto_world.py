"""Helpers for AWS tests: a tagged staging VPC, a FIS template and an Aurora cluster in moto, state readers, target documents."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-west-2"
ZONES = ["us-west-2a", "us-west-2b", "us-west-2c"]
TAGS = {"zerospof/chaos": "allowed", "env": "staging"}


def make_staging_vpc(ec2: Any) -> dict[str, Any]:
    """Create a VPC with two tagged subnets per AZ and one untagged subnet in the first AZ."""
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    tags = [{"Key": key, "Value": value} for key, value in TAGS.items()]
    tagged: dict[str, list[str]] = {}
    for index, zone in enumerate(ZONES):
        for half in range(2):
            subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.20.{index * 2 + half}.0/24", AvailabilityZone=zone,
                                       TagSpecifications=[{"ResourceType": "subnet", "Tags": tags}])["Subnet"]
            tagged.setdefault(zone, []).append(subnet["SubnetId"])
    untagged = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.100.0/24", AvailabilityZone=ZONES[0])["Subnet"]["SubnetId"]
    return {"vpc_id": vpc_id, "tagged": tagged, "untagged": untagged}


def make_fis_template(fis: Any) -> str:
    """Create a FIS experiment template in moto and return its id.

    Its one action only waits: moto keeps experiments' states but runs no FIS action, so no
    power is interrupted anywhere.
    """
    template = fis.create_experiment_template(
        clientToken=uuid.uuid4().hex, description="AZ Availability: Power Interruption (moto stand-in)",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/fis", stopConditions=[{"source": "none"}], targets={},
        actions={"wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT30M"}}})
    return str(template["experimentTemplate"]["id"])


def make_aurora_cluster(rds: Any, cluster_id: str, instance_ids: tuple[str, ...] = ()) -> None:
    """Create an Aurora PostgreSQL cluster in moto with ``instance_ids`` as its instances (moto picks the writer)."""
    rds.create_db_cluster(DBClusterIdentifier=cluster_id, Engine="aurora-postgresql", MasterUsername="admin",
                          MasterUserPassword="password123")
    for instance_id in instance_ids:
        rds.create_db_instance(DBInstanceIdentifier=instance_id, DBClusterIdentifier=cluster_id,
                               Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")


def fis_experiments(fis: Any) -> dict[str, dict[str, Any]]:
    """Return ``{experiment id: {"status", "tags"}}`` of every FIS experiment in the region."""
    return {item["id"]: {"status": item["state"]["status"], "tags": item.get("tags", {})}
            for item in fis.list_experiments()["experiments"]}


def associations(ec2: Any) -> dict[str, str]:
    """Return ``{subnet id: NACL id}`` for every subnet association in the region."""
    result = {}
    for acl in ec2.describe_network_acls()["NetworkAcls"]:
        for association in acl.get("Associations", []):
            result[association["SubnetId"]] = acl["NetworkAclId"]
    return result


def acl_ids(ec2: Any) -> set[str]:
    """Return the ids of every NACL in the region."""
    return {acl["NetworkAclId"] for acl in ec2.describe_network_acls()["NetworkAcls"]}


def target_document(**overrides: Any) -> dict[str, Any]:
    """Return a minimal valid target document for moto's account, with ``overrides`` merged at top level."""
    document: dict[str, Any] = {
        "kind": "aws",
        "name": "moto-staging",
        "aws": {
            "allowed_account_ids": [ACCOUNT],
            "regions": {"primary": REGION, "dr": "us-east-1"},
            "availability_zones": {REGION: list(ZONES), "us-east-1": ["us-east-1a", "us-east-1b"]},
            "selection_tags": dict(TAGS),
        },
        "kubernetes": {"allowed_contexts": ["fake"], "clusters": [{"name": "primary", "context": "fake", "region": REGION}]},
        "scenarios": {
            "az-failure": {"availability_zone": ZONES[0]},
            "region-failure": {"recovery": "automatic"},
        },
        "safety": {"runner": {"discover": False}},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    return document


def write_target(tmp_path: Path, document: dict[str, Any], name: str = "target.yaml") -> Path:
    """Write ``document`` as YAML and return its path."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def alb_world_on_server(moto_server: str, endpoint_url: str, target_ip: str) -> tuple[Any, dict[str, Any]]:
    """A tagged staging VPC and an ALB target group on a moto *server*, and a target document pointing at both
    (users at ``endpoint_url``, detection on the group, no cluster). Returns (the EC2 client, the document)."""
    import boto3

    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto_server)
    elbv2 = boto3.client("elbv2", region_name=REGION, endpoint_url=moto_server)
    staging = make_staging_vpc(ec2)
    group = elbv2.create_target_group(Name="app", Protocol="HTTP", Port=80, VpcId=staging["vpc_id"],
                                      TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": target_ip, "Port": 80}])
    document = target_document(endpoints=[{"name": "app", "url": endpoint_url}],
                               detection={"alb_target_groups": [{"region": REGION, "arn": group}]})
    document.pop("kubernetes")
    document["aws"]["endpoint_url"] = moto_server
    return ec2, document


def moto_decrypts_multi_region_keys(monkeypatch: Any) -> None:
    """Widen moto's ciphertext key-id field so a multi-Region key's ciphertext can be decrypted (moto 5.2.5).

    moto packs the key id into a fixed 36-byte field of its own ciphertext format, so a multi-Region
    key's 40-character ``mrk-...`` id is cut and moto answers every Decrypt of it AccessDenied. This
    makes the field 40 bytes (ids padded with NULs, stripped on read); moto's encryption, key lookup,
    key-id check and region handling are its own.
    """
    import struct

    from moto.kms import utils

    width = 40
    monkeypatch.setattr(utils, "KEY_ID_LEN", width)
    monkeypatch.setattr(utils, "HEADER_LEN", width + utils.IV_LEN + utils.TAG_LEN)
    monkeypatch.setattr(utils, "CIPHERTEXT_HEADER_FORMAT", f">{width}s{utils.IV_LEN}s{utils.TAG_LEN}s")

    def deserialize(ciphertext_blob: bytes) -> Any:
        header, body = ciphertext_blob[:utils.HEADER_LEN], ciphertext_blob[utils.HEADER_LEN:]
        key_id, iv, tag = struct.unpack(utils.CIPHERTEXT_HEADER_FORMAT, header)
        return utils.Ciphertext(key_id=key_id.rstrip(b"\0").decode("utf-8"), iv=iv, ciphertext=body, tag=tag)
    monkeypatch.setattr(utils, "_deserialize_ciphertext_blob", deserialize)


def make_security_replicas(kms: Any, secrets: Any, dr_region: str, replicate_key: bool = True,
                           replicate_secret: bool = True) -> tuple[str, str]:
    """A multi-Region KMS key (carrying the selection tags) and a secret encrypted with it in the primary region,
    each replicated to ``dr_region`` unless told not to. Returns (key id, secret name)."""
    import boto3

    tags = [{"TagKey": key, "TagValue": value} for key, value in TAGS.items()]
    key_id = kms.create_key(MultiRegion=True, Description="app", Tags=tags)["KeyMetadata"]["KeyId"]
    if replicate_key:  # a replica's tags are its own (ReplicateKey's Tags; moto ignores them): tagged there
        kms.replicate_key(KeyId=key_id, ReplicaRegion=dr_region)
        boto3.client("kms", region_name=dr_region).tag_resource(KeyId=key_id, Tags=tags)
    secrets.create_secret(Name="app/db", SecretString="s3cret", KmsKeyId=key_id)
    if replicate_secret:
        secrets.replicate_secret_to_regions(SecretId="app/db", AddReplicaRegions=[{"Region": dr_region,
                                                                                    "KmsKeyId": key_id}])
    return key_id, "app/db"
