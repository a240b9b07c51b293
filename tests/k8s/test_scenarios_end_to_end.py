"""Whole scenarios from a target file: moto for AWS, the fake API server for EKS, all state restored after."""

from __future__ import annotations

import boto3

from tests.aws.conftest import aws, fake_aws_environment  # noqa: F401 - fixtures used by name
from tests.aws.moto_world import REGION, ZONES, associations, make_staging_vpc, target_document, write_target
from tests.k8s.conftest import CONTEXT
from tests.k8s.world import CHAOS_LABEL, build_cluster
from zerospof.aws import chaos
from zerospof.aws.run import run_scenario
from zerospof.aws.target import load_aws_target
from zerospof.faults import Ledger
from zerospof.timeline import EventKind


def full_target(tmp_path, kubeconfig):
    document = target_document()
    document["kubernetes"] = {"allowed_contexts": [CONTEXT], "clusters": [
        {"name": "primary", "context": CONTEXT, "region": REGION, "kubeconfig": kubeconfig, "node_label_selector": CHAOS_LABEL}]}
    document["gitops"] = {"controllers": [{"name": "argocd-primary", "cluster": "primary", "engine": "argocd",
                                           "namespace": "argocd",
                                           "workload": {"kind": "statefulset", "name": "argocd-application-controller"}}]}
    document["scenarios"]["az-failure"] = {"availability_zone": ZONES[0], "drain_nodes": True, "drain_cluster": "primary"}
    document["scenarios"]["gitops"] = {"controller": "argocd-primary"}
    return write_target(tmp_path, document)


def test_az_failure_blackholes_the_subnets_and_drains_the_zone_then_restores_both(aws, fake_apiserver, kubeconfig, tmp_path):  # noqa: F811
    ec2 = boto3.client("ec2", region_name=REGION)
    world = make_staging_vpc(ec2)
    build_cluster(fake_apiserver)
    before = associations(ec2)
    target = load_aws_target(full_target(tmp_path, kubeconfig))
    seen = {}

    def during(timeline):
        seen["subnets_cut"] = all(associations(ec2)[s] != before[s] for s in world["tagged"][ZONES[0]])
        seen["nodes_cordoned"] = all(fake_apiserver.get("nodes", "", n)["spec"].get("unschedulable")
                                     for n in ("node-a0", "node-a1"))
        seen["t0"] = timeline.t0()

    run = run_scenario(target, "az-failure", ledger=Ledger(tmp_path / "ledger"), during=during)
    assert seen == {**seen, "subnets_cut": True, "nodes_cordoned": True} and seen["t0"] is not None
    assert [e.kind for e in run.timeline.events].count(EventKind.FAULT_REVERTED) == 2
    assert associations(ec2) == before
    assert not any(n["spec"].get("unschedulable") for n in fake_apiserver.objects("nodes"))
    assert Ledger(tmp_path / "ledger").open_records() == []


def test_gitops_scenario_through_the_chaos_toolkit_wrappers(aws, fake_apiserver, kubeconfig, tmp_path):  # noqa: F811
    build_cluster(fake_apiserver)
    path = str(full_target(tmp_path, kubeconfig))
    ledger_dir = str(tmp_path / "ledger")
    result = chaos.inject_scenario(path, "gitops", ledger_dir=ledger_dir)
    assert len(result["records"]) == 1
    assert fake_apiserver.get("statefulsets", "argocd", "argocd-application-controller")["spec"]["replicas"] == 0
    reports = chaos.revert_open_faults(ledger_dir)
    assert [r["reverted"] for r in reports] == [True]
    assert fake_apiserver.get("statefulsets", "argocd", "argocd-application-controller")["spec"]["replicas"] == 1


def test_dry_run_through_the_chaos_wrapper_prints_the_cordon_and_changes_nothing(aws, fake_apiserver, kubeconfig, tmp_path):  # noqa: F811
    ec2 = boto3.client("ec2", region_name=REGION)
    make_staging_vpc(ec2)
    build_cluster(fake_apiserver)
    before = associations(ec2)
    result = chaos.inject_scenario(str(full_target(tmp_path, kubeconfig)), "az-failure", dry_run=True)
    operations = [call["operation"] for call in result["calls"]]
    assert operations.count("patch_node") == 2 and operations.count("create_namespaced_pod_eviction") == 2
    assert "CreateNetworkAcl" in operations
    assert associations(ec2) == before
    assert not any(n["spec"].get("unschedulable") for n in fake_apiserver.objects("nodes"))
