"""The Route 53 health-check inversion on moto: one DNS answer failed alone, put back, from the ledger too."""

from __future__ import annotations

import boto3
import pytest

from tests.aws.moto_world import ACCOUNT, TAGS
from zerospof.aws.health_check_invert import ROUTE53_REGION, HealthCheckInvert
from zerospof.aws.nacl_blackhole import MARKER_TAG
from zerospof.errors import FaultError, SafetyRefusal
from zerospof.faults import Ledger, injected


@pytest.fixture
def route53(aws: None):
    return boto3.client("route53", region_name=ROUTE53_REGION)


def _check(route53, tags: dict[str, str] = TAGS) -> str:
    check = route53.create_health_check(CallerReference="primary", HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": "primary.example.com", "Port": 443})["HealthCheck"]["Id"]
    route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check,
                                     AddTags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return check


def _state(route53, check: str) -> tuple[bool, set[str]]:
    inverted = route53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"].get("Inverted", False)
    tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check)["ResourceTagSet"]["Tags"]
    return bool(inverted), {t["Key"] for t in tags}


def _invert(check: str) -> HealthCheckInvert:
    return HealthCheckInvert({"region": ROUTE53_REGION, "health_check_id": check, "selection_tags": dict(TAGS),
                              "allowed_account_ids": [ACCOUNT]})


def test_the_check_is_inverted_and_marked_while_injected_and_put_back_after(route53, tmp_path):
    check = _check(route53)
    with injected(_invert(check), ledger=Ledger(tmp_path)):
        assert _state(route53, check) == (True, {*TAGS, MARKER_TAG})
    assert _state(route53, check) == (False, set(TAGS))


def test_a_fault_rebuilt_from_its_ledger_record_puts_the_check_back(route53, tmp_path):
    check = _check(route53)
    ledger = Ledger(tmp_path)
    fault = _invert(check)
    record = ledger.open(fault)
    fault.inject()
    record.step(record.state.INJECTED, fault)
    assert [report.reverted for report in ledger.revert_open()] == [True]
    assert _state(route53, check) == (False, set(TAGS))


def test_a_check_without_the_selection_tags_is_refused_and_one_inverted_by_someone_else_left_alone(route53, tmp_path):
    untagged = _check(route53, {"env": "prod"})
    with pytest.raises(SafetyRefusal, match="selection tags"):
        with injected(_invert(untagged), ledger=Ledger(tmp_path)):
            pass
    theirs = _check(route53)
    route53.update_health_check(HealthCheckId=theirs, Inverted=True)
    with pytest.raises(FaultError, match="already inverted"):
        with injected(_invert(theirs), ledger=Ledger(tmp_path)):
            pass
    assert _state(route53, untagged) == (False, {"env"}) and _state(route53, theirs) == (True, set(TAGS))
