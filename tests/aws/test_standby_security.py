"""The AWS security layer's probe on moto: decrypt with the standby region's replica key, read the replica secret."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.aws.moto_world import REGION, make_security_replicas, moto_decrypts_multi_region_keys, target_document
from zerospof import measure
from zerospof.aws.clients import AwsClients
from zerospof.aws.driver import AwsDriver
from zerospof.aws.probes import StandbySecurity
from zerospof.aws.target import parse_aws_target
from zerospof.errors import ConfigError
from zerospof.scenario import SECURITY_REPLICA, Layer
from zerospof.timeline import EventKind, Timeline

DR = "us-east-1"


@pytest.fixture
def security(aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    moto_decrypts_multi_region_keys(monkeypatch)
    return {"kms": boto3.client("kms", region_name=REGION), "secrets": boto3.client("secretsmanager", region_name=REGION),
            "kms_dr": boto3.client("kms", region_name=DR)}


def _renewed_after_fault(probe: StandbySecurity) -> tuple[measure.Measurement, dict[str, Any]]:
    """One read before the fault, the fault verified, one read after: the security layer's RTO measurement."""
    timeline = Timeline()
    timeline.record(SECURITY_REPLICA, True, probe())
    timeline.event(EventKind.FAULT_VERIFIED, "test")
    after = probe()
    timeline.record(SECURITY_REPLICA, True, after)
    return measure.all_renewed_s(timeline, SECURITY_REPLICA, "security.rto_s"), after


def test_the_standby_region_decrypts_with_the_replica_key_and_reads_the_replica_secret(security):
    key_id, secret = make_security_replicas(security["kms"], security["secrets"], DR)
    probe = StandbySecurity(AwsClients(), REGION, DR, (key_id,), (secret,))
    probe.prepare()
    reached, after = _renewed_after_fault(probe)
    assert after["reasons"] == {}
    assert set(after["refreshed_at"]) == {f"kms:{key_id}@{DR}", f"secret:{secret}@{DR}"}
    assert reached.value is not None and reached.value >= 0


def test_a_key_without_a_replica_in_the_standby_region_is_not_reached_and_says_why(security):
    key_id, secret = make_security_replicas(security["kms"], security["secrets"], DR, replicate_key=False)
    probe = StandbySecurity(AwsClients(), REGION, DR, (key_id,), (secret,))
    reached, after = _renewed_after_fault(probe)
    assert reached.value is None
    assert after["refreshed_at"][f"kms:{key_id}@{DR}"] is None
    assert "NotFound" in after["reasons"][f"kms:{key_id}@{DR}"]
    assert after["refreshed_at"][f"secret:{secret}@{DR}"] is not None  # the other member still answers


def test_a_disabled_replica_key_is_not_reached_and_says_why(security):
    key_id, secret = make_security_replicas(security["kms"], security["secrets"], DR)
    security["kms_dr"].disable_key(KeyId=key_id)
    reached, after = _renewed_after_fault(StandbySecurity(AwsClients(), REGION, DR, (key_id,), (secret,)))
    assert reached.value is None
    assert after["reasons"][f"kms:{key_id}@{DR}"] == f"the replica key in {DR} is Disabled"


def test_a_secret_without_a_replica_in_the_standby_region_is_not_reached_and_says_why(security):
    key_id, secret = make_security_replicas(security["kms"], security["secrets"], DR, replicate_secret=False)
    reached, after = _renewed_after_fault(StandbySecurity(AwsClients(), REGION, DR, (key_id,), (secret,)))
    assert reached.value is None
    assert "ResourceNotFound" in after["reasons"][f"secret:{secret}@{DR}"]


def test_region_failure_plan_reads_the_security_layer_from_the_standby_replicas(security):
    key_id, secret = make_security_replicas(security["kms"], security["secrets"], DR)
    target = parse_aws_target(target_document(inventory={"security": {"kms_keys": [key_id], "secrets": [secret]}},
                                              detection={"cloudwatch_alarms": [{"region": REGION, "name": "app-5xx"}]}))
    plan = AwsDriver(target).plan("region-failure", "run-1")
    assert plan.layer_signals == {Layer.SECURITY: (SECURITY_REPLICA, "refreshed_at")}
    reader = plan.extra[SECURITY_REPLICA][0]
    assert reader()["reasons"] == {}


def test_security_inventory_without_a_dr_region_is_bad_input():
    document = target_document(inventory={"security": {"kms_keys": ["mrk-1"]}})
    document["aws"]["regions"].pop("dr")
    document["aws"]["availability_zones"].pop("us-east-1")
    with pytest.raises(ConfigError, match=r"inventory\.security"):
        parse_aws_target(document)



@pytest.mark.parametrize("replica_disabled", [False, True])
def test_the_region_failure_report_judges_the_security_layer_from_the_standby_replicas(security, replica_disabled):
    from pathlib import Path

    from zerospof.objectives import load_objectives
    from zerospof.scenario import build_monitoring, judge_scenario

    key_id, secret = make_security_replicas(security["kms"], security["secrets"], DR)
    target = parse_aws_target(target_document(inventory={"security": {"kms_keys": [key_id], "secrets": [secret]}},
                                              detection={"cloudwatch_alarms": [{"region": REGION, "name": "app-5xx"}]}))
    if replica_disabled:
        security["kms_dr"].disable_key(KeyId=key_id)
    objectives = load_objectives(Path(__file__).resolve().parents[2] / "objectives.yaml")
    timeline = Timeline()
    monitoring = build_monitoring(AwsDriver(target).plan("region-failure", "run-1"), timeline, objectives)
    [read] = [s for s in monitoring.samplers if s.name == SECURITY_REPLICA]  # built, not started: read by hand
    timeline.event(EventKind.FAULT_INJECTING, "test")
    timeline.event(EventKind.FAULT_VERIFIED, "test")
    timeline.record(SECURITY_REPLICA, True, read.probe())
    found, verdict = judge_scenario("region-failure", timeline, objectives, monitoring)
    [check] = [c for c in verdict.checks if c.measurement == "security.rto_s"]
    if replica_disabled:  # never reached: not measured, never 0, and the layer check fails
        assert found["security.rto_s"].value is None and not check.passed
    else:
        assert found["security.rto_s"].value is not None and found["security.rto_s"].value < 5 and check.passed
