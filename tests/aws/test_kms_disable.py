"""The KMS key disable fault on moto: one replica disabled alone, enabled again, from the ledger too; untagged refused."""

from __future__ import annotations

import boto3
import pytest

from tests.aws.moto_world import ACCOUNT, REGION, TAGS, make_security_replicas
from zerospof.aws.kms_disable import KmsKeyDisable
from zerospof.errors import FaultError, SafetyRefusal
from zerospof.faults import Ledger, injected

DR = "us-east-1"


def _state(region: str, key_id: str) -> str:
    return boto3.client("kms", region_name=region).describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


def _disable(region: str, key_id: str, tags: dict[str, str] | None = None) -> KmsKeyDisable:
    return KmsKeyDisable({"region": region, "key_id": key_id, "selection_tags": dict(TAGS if tags is None else tags),
                          "allowed_account_ids": [ACCOUNT]})


@pytest.fixture
def key_id(aws: None) -> str:
    return make_security_replicas(boto3.client("kms", region_name=REGION),
                                  boto3.client("secretsmanager", region_name=REGION), DR)[0]


def test_the_replica_is_disabled_alone_while_injected_and_enabled_after(key_id, tmp_path):
    with injected(_disable(DR, key_id), ledger=Ledger(tmp_path)):
        assert (_state(DR, key_id), _state(REGION, key_id)) == ("Disabled", "Enabled")
    assert (_state(DR, key_id), _state(REGION, key_id)) == ("Enabled", "Enabled")


def test_a_fault_rebuilt_from_its_ledger_record_enables_the_key_again(key_id, tmp_path):
    ledger = Ledger(tmp_path)
    fault = _disable(DR, key_id)
    record = ledger.open(fault)
    fault.inject()
    record.step(record.state.INJECTED, fault)
    assert _state(DR, key_id) == "Disabled"
    assert [report.reverted for report in ledger.revert_open()] == [True]
    assert _state(DR, key_id) == "Enabled" and ledger.open_records() == []


def test_revert_is_idempotent_and_leaves_a_key_it_did_not_disable_alone(key_id):
    fault = _disable(DR, key_id)
    fault.revert()  # before prepare: nothing recorded, nothing done
    boto3.client("kms", region_name=DR).disable_key(KeyId=key_id)
    fault.revert()
    assert _state(DR, key_id) == "Disabled"  # someone else's: not ours to enable


def test_a_key_without_the_selection_tags_is_refused_before_any_change(key_id, tmp_path):
    with pytest.raises(SafetyRefusal, match="selection tags"):
        with injected(_disable(DR, key_id, {"zerospof/chaos": "other"}), ledger=Ledger(tmp_path)):
            pass
    assert _state(DR, key_id) == "Enabled"


def test_a_key_already_disabled_is_refused(key_id, tmp_path):
    boto3.client("kms", region_name=DR).disable_key(KeyId=key_id)
    with pytest.raises(FaultError, match="not Enabled"):
        with injected(_disable(DR, key_id), ledger=Ledger(tmp_path)):
            pass
    assert _state(DR, key_id) == "Disabled"
