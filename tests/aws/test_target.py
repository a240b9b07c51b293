"""The AWS target file: the documented example loads, and each kind of mistake names file, key path and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.aws.moto_world import target_document, write_target
from zerospof.aws.target import load_aws_target, parse_aws_target
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
    canary = target.gitops_canary
    assert (canary.branch, canary.file, canary.application.name) == ("main", "canary/revision", "platform")
    assert (canary.endpoint_url, canary.endpoint_field) == ("https://app.staging.example.com/version", "revision")
    assert canary.rpo_branch == "zerospof-rpo-canary"


def test_the_generic_target_loader_dispatches_aws_files_here():
    assert load_target(EXAMPLE).name == "staging"


def _canary(**changes):
    """A valid ``gitops.canary`` section with ``changes`` applied (a value of None removes the key)."""
    section = {"repository": "https://git.example/platform/deploy.git", "branch": "main", "file": "canary/revision",
               "served": {"argocd_application": {"cluster": "primary", "name": "platform"}}}
    section.update(changes)
    return {"canary": {key: value for key, value in section.items() if value is not None}}


def test_a_target_without_gitops_canary_has_none_and_a_valid_one_loads(tmp_path):
    assert load_aws_target(write_target(tmp_path, target_document())).gitops_canary is None
    target = load_aws_target(write_target(tmp_path, target_document(gitops=_canary(
        repository="git@git.example:platform/deploy.git", served={"endpoint": {"url": "http://127.0.0.1:8080/v"}}))))
    assert target.gitops_canary.application is None and target.gitops_canary.endpoint_field == "revision"
    assert target.gitops_canary.rpo_branch is None
    with_rpo = load_aws_target(write_target(tmp_path, target_document(gitops=_canary(rpo_branch="zerospof-rpo-canary"))))
    assert with_rpo.gitops_canary.rpo_branch == "zerospof-rpo-canary" and with_rpo.gitops_canary.branch == "main"


def _controller(**changes):
    """A valid ``gitops.controllers`` section (one Flux controller) with ``changes`` applied."""
    controller = {"name": "flux", "cluster": "primary", "engine": "flux", "namespace": "flux-system",
                  "workload": {"kind": "deployment", "name": "kustomize-controller"}, **changes}
    return {"controllers": [controller]}


def test_a_controllers_lease_defaults_to_its_namespace_and_is_none_when_not_named(tmp_path):
    named = load_aws_target(write_target(tmp_path, target_document(gitops=_controller(
        lease={"name": "kustomize-controller-leader-election"}))))
    assert named.controller("flux").leader_lease == {"namespace": "flux-system", "name": "kustomize-controller-leader-election"}
    assert load_aws_target(write_target(tmp_path, target_document(gitops=_controller()))).controller("flux").leader_lease is None


def test_a_clusters_event_namespaces_default_to_default_and_the_namespaces_the_file_names_there(tmp_path):
    example = {cluster.name: cluster.event_namespaces for cluster in load_aws_target(EXAMPLE).clusters}
    assert example == {"primary": ("default", "argocd", "flux-system", "kube-system"), "dr": ("default",)}
    document = target_document()
    document["kubernetes"]["clusters"][0]["event_namespaces"] = ["app"]
    assert load_aws_target(write_target(tmp_path, document)).clusters[0].event_namespaces == ("app",)
    document["kubernetes"]["clusters"][0]["event_namespaces"] = []  # said explicitly: none
    assert load_aws_target(write_target(tmp_path, document)).clusters[0].event_namespaces == ()


def _broken(tmp_path, mutate):
    document = target_document()
    mutate(document)
    return write_target(tmp_path, document)


@pytest.mark.parametrize("mutate, key, value", [
    (lambda d: d["aws"].update(allowed_acount_ids=["123"]), "aws.allowed_acount_ids", ["123"]),
    (lambda d: d["aws"].update(allowed_account_ids=[123456789012]), "aws.allowed_account_ids[0]", 123456789012),
    (lambda d: d["aws"]["regions"].update(primary="us-west-9x"), "aws.regions.primary", "us-west-9x"),
    (lambda d: d["aws"]["availability_zones"].update({"us-west-2": ["us-east-1a"]}),
     "aws.availability_zones.us-west-2[0]", "us-east-1a"),
    (lambda d: d["aws"].update(selection_tags={}), "aws.selection_tags", {}),
    (lambda d: d["aws"].update(selection_tags={"env": True}), "aws.selection_tags.env", True),
    (lambda d: d["scenarios"]["az-failure"].update(availability_zone="us-west-2z"),
     "scenarios.az-failure.availability_zone", "us-west-2z"),
    (lambda d: d["scenarios"].update({"az-failur": {}}), "scenarios.az-failur", {}),
    (lambda d: d["kubernetes"]["clusters"][0].update(context="prod"), "kubernetes.clusters[0].context", "prod"),
    (lambda d: d["kubernetes"]["clusters"][0].update(event_namespaces=["Kube_System"]),
     "kubernetes.clusters[0].event_namespaces[0]", "Kube_System"),
    (lambda d: d["kubernetes"]["clusters"][0].update(event_namespaces="app"), "kubernetes.clusters[0].event_namespaces", "app"),
    (lambda d: d["scenarios"].update({"region-failure": {"recovery": "manual"}}),
     "scenarios.region-failure.aurora_failover.cluster_id", None),
    (lambda d: d["safety"].update(abort={"limit": "forever"}), "safety.abort.limit", "forever"),
    (lambda d: d.update(kind="gcp"), "kind", "gcp"),
    (lambda d: d.update(gitops=_canary(brnch="main")), "gitops.canary.brnch", "main"),
    (lambda d: d.update(gitops=_canary(branch=5)), "gitops.canary.branch", 5),
    (lambda d: d.update(gitops=_canary(branch="refs/heads/main")), "gitops.canary.branch", "refs/heads/main"),
    (lambda d: d.update(gitops=_canary(file=None)), "gitops.canary.file", None),
    (lambda d: d.update(gitops=_canary(rpo_branch="main")), "gitops.canary.rpo_branch", "main"),
    (lambda d: d.update(gitops=_canary(branch="release", rpo_branch="release")), "gitops.canary.rpo_branch", "release"),
    (lambda d: d.update(gitops=_canary(rpo_branch="refs/heads/zerospof-rpo")), "gitops.canary.rpo_branch",
     "refs/heads/zerospof-rpo"),
    (lambda d: d.update(gitops=_canary(rpo_branch="rpo..canary")), "gitops.canary.rpo_branch", "rpo..canary"),
    (lambda d: d.update(gitops=_canary(rpo_branch=5)), "gitops.canary.rpo_branch", 5),
    (lambda d: d.update(gitops=_canary(file="../secrets.yaml")), "gitops.canary.file", "../secrets.yaml"),
    (lambda d: d.update(gitops=_canary(file="/etc/passwd")), "gitops.canary.file", "/etc/passwd"),
    (lambda d: d.update(gitops=_canary(repository="git.example/deploy")), "gitops.canary.repository", "git.example/deploy"),
    (lambda d: d.update(gitops=_canary(repository="https://bot:s3cret@git.example/deploy.git")),
     "gitops.canary.repository", "https://bot:***@git.example/deploy.git"),
    (lambda d: d.update(gitops=_canary(served={})), "gitops.canary.served", None),
    (lambda d: d.update(gitops=_canary(served=["argocd"])), "gitops.canary.served", ["argocd"]),
    (lambda d: d.update(gitops=_canary(served={"argocd": {}})), "gitops.canary.served.argocd", {}),
    (lambda d: d.update(gitops=_canary(served={"argocd_application": {"cluster": "dr", "name": "platform"}})),
     "gitops.canary.served.argocd_application.cluster", "dr"),
    (lambda d: d.update(gitops=_canary(served={"endpoint": {"field": "revision"}})), "gitops.canary.served.endpoint.url", None),
    (lambda d: d.update(gitops=_canary(served={"endpoint": {"url": "ftp://x/v"}})), "gitops.canary.served.endpoint.url",
     "ftp://x/v"),
    (lambda d: d.update(gitops=_controller(lease={"nme": "flux-leader"})), "gitops.controllers[0].lease.nme", "flux-leader"),
    (lambda d: d.update(gitops=_controller(lease={"namespace": "flux-system"})), "gitops.controllers[0].lease.name", None),
    (lambda d: d.update(gitops=_controller(lease="flux-leader")), "gitops.controllers[0].lease", "flux-leader"),
    (lambda d: d.update(gitops=_controller(lease={"name": 7})), "gitops.controllers[0].lease.name", 7),
    (lambda d: d.update(gitops=_controller(lease={"name": "l", "namespace": ["a"]})), "gitops.controllers[0].lease.namespace",
     ["a"]),
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


@pytest.mark.parametrize("inventory, key", [
    ({"namespace": ["app"]}, "inventory.namespace"),  # a typo
    ({"namespaces": ["app"]}, "inventory.cluster"),  # workloads need the cluster they run in
    ({"cluster": "nope"}, "inventory.cluster"),
    ({"cluster": "primary", "deployments": [{"name": "web"}]}, "inventory.deployments[0].namespace"),
    ({"dns": {"zone_id": "/hostedzone/Z1", "records": ["app.example.com"]}}, "inventory.dns.zone_id"),
    ({"dns": {"zone_id": "Z1", "records": ["a"], "secondary_provider": {"name": "cf", "nameservers": ["ns1.cf"]}}},
     "inventory.dns.secondary_provider.nameservers[0]"),
])
def test_a_bad_inventory_is_bad_input_naming_the_key(inventory, key):
    with pytest.raises(ConfigError) as raised:
        parse_aws_target(target_document(inventory=inventory))
    assert raised.value.key == key
