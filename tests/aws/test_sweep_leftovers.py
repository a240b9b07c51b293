"""`zerospof revert --target` without a ledger undoes what a killed SPOF sweep left: a disabled KMS key replica, an
inverted Route 53 health check (found by zerospof's marker tag on what the inventory names), on moto."""

from __future__ import annotations

import boto3

from tests.aws.moto_world import ACCOUNT, REGION, TAGS, make_security_replicas, target_document
from zerospof.aws.health_check_invert import ROUTE53_REGION, HealthCheckInvert
from zerospof.aws.kms_disable import KmsKeyDisable
from zerospof.aws.leftovers import restore_leftovers
from zerospof.aws.target import parse_aws_target
from zerospof.faults import Ledger

DR = "us-east-1"


def _left_behind(fault, tmp_path) -> None:
    """Inject through the ledger and 'die' (no revert), as after SIGKILL; the ledger is then lost."""
    record = Ledger(tmp_path / "lost-ledger").open(fault)
    fault.inject()
    record.step(record.state.INJECTED, fault)


def test_revert_target_enables_the_disabled_key_and_uninverts_the_health_check(aws, tmp_path):
    key_id, secret = make_security_replicas(boto3.client("kms", region_name=REGION),
                                            boto3.client("secretsmanager", region_name=REGION), DR)
    route53 = boto3.client("route53", region_name=ROUTE53_REGION)
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]["Id"].rsplit("/", 1)[-1]
    check = route53.create_health_check(CallerReference="c", HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": "primary.example.com", "Port": 443})["HealthCheck"]["Id"]
    route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check,
                                     AddTags=[{"Key": k, "Value": v} for k, v in TAGS.items()])
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": "app.example.com", "Type": "A", "SetIdentifier": "primary", "Failover": "PRIMARY", "TTL": 60,
        "HealthCheckId": check, "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
    allowed = {"allowed_account_ids": [ACCOUNT], "selection_tags": dict(TAGS)}
    _left_behind(KmsKeyDisable({"region": DR, "key_id": key_id, **allowed}), tmp_path)
    _left_behind(HealthCheckInvert({"region": ROUTE53_REGION, "health_check_id": check, **allowed}), tmp_path)
    document = target_document(inventory={"dns": {"zone_id": zone, "records": ["app.example.com"]},
                                          "security": {"kms_keys": [key_id], "secrets": [secret]}})
    document.pop("kubernetes")
    found = restore_leftovers(parse_aws_target(document))
    assert sorted((f.kind, f.restored) for f in found) == [("kms-key", True), ("route53-health-check", True)]
    assert boto3.client("kms", region_name=DR).describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert not route53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"].get("Inverted")
    assert restore_leftovers(parse_aws_target(document)) == []  # idempotent: nothing of ours left
