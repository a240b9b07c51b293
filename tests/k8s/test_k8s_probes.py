"""Kubernetes detection probes read node readiness, Lease holders and Argo CD Applications."""

from __future__ import annotations

from tests.k8s.world import argo_application, build_cluster, node
from zerospof.k8s.probes import argocd_application, lease_holder, node_readiness, workload_readiness


def test_lease_holder_change_is_detected_against_the_baseline(fake_apiserver, kube):
    build_cluster(fake_apiserver)
    first = lease_holder(kube, "kube-system", "kube-scheduler")
    assert first["holder"] == "ip-10-0-1-10_3f2a" and first["detected"] is False
    same = lease_holder(kube, "kube-system", "kube-scheduler", baseline_holder=first["holder"])
    assert same["detected"] is False
    kube.coordination.patch_namespaced_lease("kube-scheduler", "kube-system",
                                             {"spec": {"holderIdentity": "ip-10-0-2-20_77aa", "leaseTransitions": 1}})
    moved = lease_holder(kube, "kube-system", "kube-scheduler", baseline_holder=first["holder"])
    assert moved == {**moved, "holder": "ip-10-0-2-20_77aa", "transitions": 1, "detected": True}


def test_node_readiness_detects_a_not_ready_node(fake_apiserver, kube):
    fake_apiserver.add(node("n-ok", "us-west-2a"))
    fake_apiserver.add(node("n-down", "us-west-2b", ready=False))
    assert node_readiness(kube) == {"nodes": 2, "not_ready": ["n-down"], "detected": True}
    assert node_readiness(kube, "topology.kubernetes.io/zone=us-west-2a")["detected"] is False


def test_argocd_application_sync_and_health_are_read(fake_apiserver, kube):
    fake_apiserver.add(argo_application("platform"))
    fake_apiserver.add(argo_application("payments", sync="OutOfSync", health="Degraded"))
    assert argocd_application(kube, "argocd", "platform") == {"sync": "Synced", "health": "Healthy",
                                                              "revision": "abc123", "detected": False}
    assert argocd_application(kube, "argocd", "payments")["detected"] is True


def test_workload_readiness_detects_a_controller_scaled_away(fake_apiserver, kube):
    build_cluster(fake_apiserver)
    assert workload_readiness(kube, "argocd", "statefulset", "argocd-application-controller")["detected"] is False
