"""Scaled-down and suspended GitOps controllers are found in the cluster itself and restored, no ledger needed.

Against the real API server (``tests/k8s/fixtures.py``), through the real kubernetes client.
"""

from __future__ import annotations

from tests.k8s.world import build_cluster
from zerospof.faults import Ledger, apply
from zerospof.k8s.flux_suspend import FluxSuspend
from zerospof.k8s.leftovers import restore_kube_leftovers
from zerospof.k8s.scale import ORIGINAL_REPLICAS, ScaleWorkload

CONTROLLER = ("statefulsets", "argocd", "argocd-application-controller")


def test_a_controller_scaled_down_by_a_run_whose_ledger_is_gone_is_scaled_back(cluster, kube_params, kube, tmp_path):
    build_cluster(cluster)
    fault = ScaleWorkload({"kube": kube_params, "workload_kind": "statefulset", "namespace": "argocd",
                           "name": "argocd-application-controller", "replicas": 0})
    apply(fault, Ledger(tmp_path / "lost"))
    assert cluster.get(*CONTROLLER)["spec"]["replicas"] == 0

    [found] = restore_kube_leftovers(kube, ["argocd"])

    assert found.restored and found.kind == "statefulset" and "scale back to 1" in found.action
    controller = cluster.get(*CONTROLLER)
    assert controller["spec"]["replicas"] == 1
    assert ORIGINAL_REPLICAS not in (controller["metadata"].get("annotations") or {})
    assert restore_kube_leftovers(kube, ["argocd"]) == []  # idempotent


def test_kustomizations_suspended_by_zerospof_are_resumed_and_those_suspended_before_are_left(
        cluster, kube_params, kube, tmp_path):
    for name, suspended in (("apps", False), ("infra", True)):
        cluster.add({"kind": "Kustomization", "metadata": {"name": name, "namespace": "flux-system"},
                            "spec": {"suspend": suspended, "interval": "1m"}})
    apply(FluxSuspend({"kube": kube_params, "namespace": "flux-system"}), Ledger(tmp_path / "lost"))

    found = restore_kube_leftovers(kube, ["flux-system"])

    assert [(f.resource.split("/")[-1], f.restored) for f in found] == [("apps", True)]
    assert {k["metadata"]["name"]: k["spec"]["suspend"] for k in cluster.objects("kustomizations", "flux-system")} == \
        {"apps": False, "infra": True}


def test_the_ledger_revert_removes_the_marks_too(cluster, kube_params, kube, tmp_path):
    build_cluster(cluster)
    fault = ScaleWorkload({"kube": kube_params, "workload_kind": "statefulset", "namespace": "argocd",
                           "name": "argocd-application-controller", "replicas": 0})
    ledger = Ledger(tmp_path / "ledger")
    apply(fault, ledger)
    ledger.revert_open()
    assert restore_kube_leftovers(kube, ["argocd"]) == []
