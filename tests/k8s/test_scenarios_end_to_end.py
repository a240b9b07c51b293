"""Whole scenarios from a target file: moto for AWS, the fake API server for EKS, all state restored after."""

from __future__ import annotations

import io

import boto3

from tests.aws.conftest import aws, fake_aws_environment  # noqa: F401 - fixtures used by name
from tests.aws.moto_world import REGION, ZONES, associations, make_staging_vpc, target_document, write_target
from tests.k8s.conftest import CONTEXT
from tests.k8s.world import CHAOS_LABEL, build_cluster
from zerospof.aws.driver import AwsDriver
from zerospof.aws.run import print_dry_run
from zerospof.aws.target import load_aws_target
from zerospof.faults import Ledger, apply


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


def test_the_gitops_fault_scales_the_controller_to_zero_and_its_ledger_record_scales_it_back(
        aws, fake_apiserver, kubeconfig, tmp_path):  # noqa: F811
    build_cluster(fake_apiserver)
    ledger = Ledger(tmp_path / "ledger")
    fault = AwsDriver(load_aws_target(full_target(tmp_path, kubeconfig))).fault("gitops", {})
    apply(fault, ledger, run_id="gitops-run")
    assert fake_apiserver.get("statefulsets", "argocd", "argocd-application-controller")["spec"]["replicas"] == 0
    reports = ledger.revert_open("gitops-run")  # what the experiment's rollback and `zerospof revert` do
    assert [r.reverted for r in reports] == [True]
    assert fake_apiserver.get("statefulsets", "argocd", "argocd-application-controller")["spec"]["replicas"] == 1


def test_dry_run_prints_the_cordon_and_evictions_and_changes_nothing(aws, fake_apiserver, kubeconfig, tmp_path):  # noqa: F811
    ec2 = boto3.client("ec2", region_name=REGION)
    make_staging_vpc(ec2)
    build_cluster(fake_apiserver)
    before = associations(ec2)
    [run] = print_dry_run(full_target(tmp_path, kubeconfig), ["az-failure"], out=io.StringIO())
    operations = [call.operation for call in run.planned_calls]
    assert operations.count("patch_node") == 2 and operations.count("create_namespaced_pod_eviction") == 2
    assert "CreateNetworkAcl" in operations
    assert associations(ec2) == before
    assert not any(n["spec"].get("unschedulable") for n in fake_apiserver.objects("nodes"))
