"""The AWS target file: the documented example loads, and each kind of mistake names file, key path and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.aws.moto_world import target_document, write_target
from zerospof.aws.target import load_aws_target
from zerospof.errors import ConfigError
from zerospof.targets import load_target

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "targets" / "staging.example.yaml"


def test_the_documented_example_loads_with_every_section():
    target = load_aws_target(EXAMPLE)
    assert (target.primary_region, target.dr_region) == ("us-west-2", "us-east-1")
    assert target.allowed_account_ids == ("111122223333",)
    assert target.az_failure.availability_zone == "us-west-2a" and target.az_failure.drain_nodes
    assert target.region_failure.recovery == "manual" and target.region_failure.aurora_cluster_id == "staging-aurora"
    assert target.control_plane.api_port == 443
    assert target.controller(target.gitops.controller).workload_kind == "statefulset"
    assert target.data_canary.postgres_dsn_env == "ZEROSPOF_CANARY_DSN"
    assert all(cluster.context in target.allowed_contexts for cluster in target.clusters)


def test_the_generic_target_loader_dispatches_aws_files_here():
    assert load_target(EXAMPLE).name == "staging"


def _broken(tmp_path, mutate):
    document = target_document()
    mutate(document)
    return write_target(tmp_path, document)


@pytest.mark.parametrize("mutate, key, value", [
    (lambda d: d["aws"].update(allowed_acount_ids=["123"]), "aws.allowed_acount_ids", "allowed_acount_ids"),
    (lambda d: d["aws"].update(allowed_account_ids=[123456789012]), "aws.allowed_account_ids[0]", 123456789012),
    (lambda d: d["aws"]["regions"].update(primary="us-west-9x"), "aws.regions.primary", "us-west-9x"),
    (lambda d: d["aws"]["availability_zones"].update({"us-west-2": ["us-east-1a"]}),
     "aws.availability_zones.us-west-2[0]", "us-east-1a"),
    (lambda d: d["aws"].update(selection_tags={}), "aws.selection_tags", {}),
    (lambda d: d["aws"].update(selection_tags={"env": True}), "aws.selection_tags.env", True),
    (lambda d: d["scenarios"]["az-failure"].update(availability_zone="us-west-2z"),
     "scenarios.az-failure.availability_zone", "us-west-2z"),
    (lambda d: d["scenarios"].update({"az-failur": {}}), "scenarios.az-failur", "az-failur"),
    (lambda d: d["kubernetes"]["clusters"][0].update(context="prod"), "kubernetes.clusters[0].context", "prod"),
    (lambda d: d["scenarios"].update({"region-failure": {"recovery": "manual"}}),
     "scenarios.region-failure.aurora_failover.cluster_id", None),
    (lambda d: d["safety"].update(abort={"limit": "forever"}), "safety.abort.limit", "forever"),
    (lambda d: d.update(kind="gcp"), "kind", "gcp"),
])
def test_a_mistake_fails_naming_file_key_path_and_value(tmp_path, mutate, key, value):
    path = _broken(tmp_path, mutate)
    with pytest.raises(ConfigError) as raised:
        load_aws_target(path)
    assert raised.value.path == str(path)
    assert raised.value.key == key
    assert raised.value.value == value
    assert str(path) in str(raised.value) and key in str(raised.value)


def test_unreadable_yaml_fails_with_the_file_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("kind: aws\n  name: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_aws_target(path)
