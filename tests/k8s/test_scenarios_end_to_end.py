"""Whole scenarios from a target file: moto for AWS, the real API server for EKS, all state restored after."""

from __future__ import annotations

import io
import re

import boto3
import pytest

from tests.aws.conftest import aws, fake_aws_environment  # noqa: F401 - fixtures used by name
from tests.aws.moto_world import REGION, ZONES, associations, make_staging_vpc, target_document, write_target
from tests.k8s.control_plane import CONTEXT
from tests.k8s.world import (CHAOS_LABEL, CONTROL_PLANE_COMPONENTS, build_cluster, build_control_plane, lease,
                             leader_lease, node, pod_uids, workload)
from zerospof.aws.driver import AwsDriver
from zerospof.aws.run import print_dry_run
from zerospof.aws.target import load_aws_target
from zerospof.errors import FaultError
from zerospof.faults import Ledger, apply


ARGOCD_CONTROLLER = {"name": "argocd-primary", "cluster": "primary", "engine": "argocd", "namespace": "argocd",
                     "workload": {"kind": "statefulset", "name": "argocd-application-controller"}}
FLUX_CONTROLLER = {"name": "flux", "cluster": "primary", "engine": "flux", "namespace": "flux-system",
                   "workload": {"kind": "deployment", "name": "kustomize-controller"},
                   "pod_label_selector": "app=kustomize-controller"}
FLUX_LEASE = "kustomize-controller-leader-election"  # controller-runtime's Lease, in the controller's namespace


def full_target(tmp_path, kubeconfig, controller=ARGOCD_CONTROLLER, gitops_method=None):
    document = target_document()
    document["kubernetes"] = {"allowed_contexts": [CONTEXT], "clusters": [
        {"name": "primary", "context": CONTEXT, "region": REGION, "kubeconfig": kubeconfig, "node_label_selector": CHAOS_LABEL}]}
    document["gitops"] = {"controllers": [controller]}
    document["scenarios"]["az-failure"] = {"availability_zone": ZONES[0], "drain_nodes": True, "drain_cluster": "primary"}
    document["scenarios"]["gitops"] = {"controller": controller["name"]}
    if gitops_method:
        document["scenarios"]["gitops"]["method"] = gitops_method
    return write_target(tmp_path, document)


def self_managed_target(tmp_path, kubeconfig, pod_selectors=None):
    """A target whose cluster is self-managed: its control-plane scenario kills one pod per component selector."""
    document = target_document()
    document["kubernetes"] = {"allowed_contexts": [CONTEXT], "clusters": [
        {"name": "primary", "context": CONTEXT, "region": REGION, "kubeconfig": kubeconfig, "managed": False}]}
    document["scenarios"]["control-plane"] = {"cluster": "primary"}
    if pod_selectors is not None:
        document["scenarios"]["control-plane"]["self_managed_pod_selectors"] = pod_selectors
    return write_target(tmp_path, document)


def killed_by_the_planned_control_plane_fault(cluster, target_path, tmp_path) -> set[str]:
    """Apply the target file's control-plane fault; return the names of the pods it deleted (the API server's state)."""
    before = pod_uids(cluster)
    fault = AwsDriver(load_aws_target(target_path)).fault("control-plane", {})
    apply(fault, Ledger(tmp_path / "ledger"), run_id="control-plane-run")
    return {name for _, name in set(before) - set(pod_uids(cluster))}


def test_the_self_managed_control_plane_fault_kills_one_etcd_and_api_server_pod_and_the_active_scheduler(
        aws, cluster, kubeconfig, tmp_path):  # noqa: F811
    build_control_plane(cluster)
    cluster.add(leader_lease("kube-scheduler", "cp-2"))  # the active scheduler is not the first by name
    killed = killed_by_the_planned_control_plane_fault(cluster, self_managed_target(tmp_path, kubeconfig), tmp_path)
    assert killed == {"etcd-cp-0", "kube-apiserver-cp-0", "kube-scheduler-cp-2"}
    assert len(pod_uids(cluster)) == 6


def test_the_self_managed_control_plane_fault_kills_the_active_controller_manager_when_it_is_selected(
        aws, cluster, kubeconfig, tmp_path):  # noqa: F811
    build_control_plane(cluster, ("kube-scheduler", "kube-controller-manager"))
    cluster.add(leader_lease("kube-scheduler", "cp-1"))
    cluster.add(leader_lease("kube-controller-manager", "cp-2"))
    selectors = ["tier=control-plane,component=kube-scheduler", "component == kube-controller-manager"]
    killed = killed_by_the_planned_control_plane_fault(
        cluster, self_managed_target(tmp_path, kubeconfig, selectors), tmp_path)
    assert killed == {"kube-scheduler-cp-1", "kube-controller-manager-cp-2"}


def test_the_self_managed_control_plane_fault_injects_nothing_when_no_pod_holds_the_scheduler_lease(
        aws, cluster, kubeconfig, tmp_path):  # noqa: F811
    build_control_plane(cluster)
    cluster.add(leader_lease("kube-scheduler", "cp-9"))  # a holder on a node with no scheduler pod
    before = pod_uids(cluster)
    fault = AwsDriver(load_aws_target(self_managed_target(tmp_path, kubeconfig))).fault("control-plane", {})
    with pytest.raises(FaultError, match="kube-scheduler.*matches none"):
        apply(fault, Ledger(tmp_path / "ledger"), run_id="control-plane-run")
    assert pod_uids(cluster) == before  # the etcd and API server kills before it in the plan did not run either


def test_dry_run_of_the_self_managed_control_plane_prints_the_chaosk8s_calls_and_kills_nothing(
        aws, cluster, kubeconfig, tmp_path):  # noqa: F811
    build_control_plane(cluster)
    cluster.add(leader_lease("kube-scheduler", "cp-1"))
    before = pod_uids(cluster)
    out = io.StringIO()
    [run] = print_dry_run(self_managed_target(tmp_path, kubeconfig), ["control-plane"], out=out)
    calls = [(call.operation, call.parameters["label_selector"], call.parameters["name_pattern"]) for call in run.planned_calls]
    killed = {"etcd": "etcd-cp-0", "kube-apiserver": "kube-apiserver-cp-0", "kube-scheduler": "kube-scheduler-cp-1"}
    assert calls == [("chaosk8s.pod.actions.terminate_pods", f"component={component}", f"^(?:{re.escape(killed[component])})$")
                     for component in CONTROL_PLANE_COMPONENTS]
    assert f"DRY-RUN kubernetes/{CONTEXT} chaosk8s.pod.actions.terminate_pods" in out.getvalue()
    assert "KUBERNETES_KEY_FILE" not in out.getvalue()  # chaosk8s's secrets (the client key's file) are never printed
    assert str(cluster.control_plane.pki["admin_key"]) not in out.getvalue()
    assert pod_uids(cluster) == before
    assert Ledger().records() == []  # $ZEROSPOF_LEDGER_DIR of this test


def test_the_gitops_fault_scales_the_controller_to_zero_and_its_ledger_record_scales_it_back(
        aws, cluster, kubeconfig, tmp_path):  # noqa: F811
    build_cluster(cluster)
    ledger = Ledger(tmp_path / "ledger")
    fault = AwsDriver(load_aws_target(full_target(tmp_path, kubeconfig))).fault("gitops", {})
    apply(fault, ledger, run_id="gitops-run")
    assert cluster.get("statefulsets", "argocd", "argocd-application-controller")["spec"]["replicas"] == 0
    reports = ledger.revert_open("gitops-run")  # what the experiment's rollback and `zerospof revert` do
    assert [r.reverted for r in reports] == [True]
    assert cluster.get("statefulsets", "argocd", "argocd-application-controller")["spec"]["replicas"] == 1


def two_flux_controller_pods(cluster) -> dict[str, str]:
    """A Flux kustomize-controller Deployment of two ready replicas; return its pods' ``{name: uid}``."""
    cluster.add(node("node-a0", ZONES[0]))
    cluster.add(workload("Deployment", "flux-system", "kustomize-controller", 2, {"app": "kustomize-controller"}))
    return {name: uid for (_, name), uid in pod_uids(cluster, "flux-system").items()}


def test_the_gitops_delete_pod_fault_kills_only_the_controller_pod_holding_its_leader_election_lease(
        aws, cluster, kubeconfig, tmp_path):  # noqa: F811
    pods = two_flux_controller_pods(cluster)
    leader = sorted(pods)[1]  # not the first by name
    cluster.add(lease("flux-system", FLUX_LEASE, f"{leader}_5c1e8f0a-1b2c-4d3e-9f40-a1b2c3d4e5f6"))
    controller = {**FLUX_CONTROLLER, "lease": {"name": FLUX_LEASE}}

    target = load_aws_target(full_target(tmp_path, kubeconfig, controller, "delete-pod"))
    apply(AwsDriver(target).fault("gitops", {}), Ledger(tmp_path / "ledger"), run_id="gitops-run")

    after = set(pod_uids(cluster, "flux-system").values())
    assert pods[leader] not in after  # the leader was deleted ...
    assert {uid for name, uid in pods.items() if name != leader} <= after  # ... and its standby left running
    cluster.wait_for(lambda: len(pod_uids(cluster, "flux-system")) == 2, "the Deployment's replacement pod")


def test_without_a_named_lease_the_gitops_delete_pod_fault_still_kills_every_selected_controller_pod(
        aws, cluster, kubeconfig, tmp_path):  # noqa: F811
    pods = two_flux_controller_pods(cluster)

    target = load_aws_target(full_target(tmp_path, kubeconfig, FLUX_CONTROLLER, "delete-pod"))
    apply(AwsDriver(target).fault("gitops", {}), Ledger(tmp_path / "ledger"), run_id="gitops-run")

    assert set(pods.values()).isdisjoint(pod_uids(cluster, "flux-system").values())


def test_dry_run_prints_the_cordon_and_evictions_and_changes_nothing(aws, cluster, kubeconfig, tmp_path):  # noqa: F811
    ec2 = boto3.client("ec2", region_name=REGION)
    make_staging_vpc(ec2)
    build_cluster(cluster)
    before = associations(ec2)
    [run] = print_dry_run(full_target(tmp_path, kubeconfig), ["az-failure"], out=io.StringIO())
    operations = [call.operation for call in run.planned_calls]
    assert operations.count("patch_node") == 2 and operations.count("create_namespaced_pod_eviction") == 2
    assert "CreateNetworkAcl" in operations
    assert associations(ec2) == before
    assert not any(n["spec"].get("unschedulable") for n in cluster.objects("nodes"))
