"""Kubernetes detection probes read node readiness, Lease holders and Argo CD Applications from the real API server."""

from __future__ import annotations

from tests.k8s.world import argo_application, build_cluster, node, set_lease_holder
from zerospof.k8s.probes import argocd_application, lease_holder, node_readiness, workload_readiness


def test_lease_holder_change_is_detected_against_the_baseline(cluster, kube):
    build_cluster(cluster)
    first = lease_holder(kube, "kube-system", "kube-scheduler")
    assert first["holder"] == "ip-10-0-1-10_3f2a" and first["detected"] is False
    same = lease_holder(kube, "kube-system", "kube-scheduler", baseline_holder=first["holder"])
    assert same["detected"] is False
    set_lease_holder(cluster, "kube-system", "kube-scheduler", "ip-10-0-2-20_77aa")
    moved = lease_holder(kube, "kube-system", "kube-scheduler", baseline_holder=first["holder"])
    assert moved == {**moved, "holder": "ip-10-0-2-20_77aa", "transitions": 1, "detected": True}
    assert moved["renew_time"] is not None


def test_node_readiness_detects_a_not_ready_node(cluster, kube):
    cluster.add(node("n-ok", "us-west-2a"))
    cluster.add(node("n-down", "us-west-2b", ready=False))
    assert node_readiness(kube) == {"nodes": 2, "not_ready": ["n-down"], "detected": True}
    assert node_readiness(kube, "topology.kubernetes.io/zone=us-west-2a")["detected"] is False


def test_argocd_application_sync_and_health_are_read(cluster, kube):
    cluster.add(argo_application("platform"))
    cluster.add(argo_application("payments", sync="OutOfSync", health="Degraded"))
    assert argocd_application(kube, "argocd", "platform") == {"sync": "Synced", "health": "Healthy",
                                                              "revision": "abc123", "detected": False}
    assert argocd_application(kube, "argocd", "payments")["detected"] is True


def test_workload_readiness_detects_a_controller_scaled_away(cluster, kube):
    build_cluster(cluster)
    assert workload_readiness(kube, "argocd", "statefulset", "argocd-application-controller") == {
        "replicas": 1, "ready": 1, "detected": False}
    cluster.kubelet.paused.set()  # the new replica's pod never starts
    cluster.patch("statefulsets", "argocd", "argocd-application-controller", {"spec": {"replicas": 2}})
    assert workload_readiness(kube, "argocd", "statefulset", "argocd-application-controller")["detected"] is True
