"""Build a small EKS-like cluster in the fake API server: nodes in three zones, workloads, leases, an Argo CD app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.k8s.fake_apiserver import FakeKubeApiServer

ZONES = ["us-west-2a", "us-west-2b", "us-west-2c"]
CHAOS_LABEL = "zerospof/chaos=allowed"


def node(name: str, zone: str, ready: bool = True, chaos: bool = True) -> dict[str, Any]:
    labels = {"topology.kubernetes.io/zone": zone, "kubernetes.io/hostname": name}
    if chaos:
        labels["zerospof/chaos"] = "allowed"
    return {"kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def pod(name: str, namespace: str, node_name: str, labels: dict[str, str] | None = None,
        daemonset: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    if daemonset:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "node-agent", "uid": "ds-1"}]
    return {"kind": "Pod", "metadata": meta, "spec": {"nodeName": node_name, "containers": [{"name": "main", "image": "app"}]},
            "status": {"phase": "Running"}}


def workload(kind: str, namespace: str, name: str, replicas: int, labels: dict[str, str]) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [{"name": "main", "image": name}]}}}}


def lease(namespace: str, name: str, holder: str) -> dict[str, Any]:
    return {"kind": "Lease", "metadata": {"name": name, "namespace": namespace},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "leaseTransitions": 0}}


def argo_application(name: str, sync: str = "Synced", health: str = "Healthy") -> dict[str, Any]:
    return {"kind": "Application", "metadata": {"name": name, "namespace": "argocd"},
            "spec": {"project": "default", "source": {"repoURL": "https://git.example/platform", "path": "."}},
            "status": {"sync": {"status": sync, "revision": "abc123"}, "health": {"status": health}}}


def build_cluster(fake: FakeKubeApiServer) -> None:
    """Two chaos-allowed nodes per zone plus one untagged node in the first zone, app pods on each, a DaemonSet pod."""
    for zone in ZONES:
        for index in range(2):
            name = f"node-{zone[-1]}{index}"
            fake.add(node(name, zone))
            fake.add(pod(f"app-{zone[-1]}{index}", "shop", name, {"app": "shop"}))
            fake.add(pod(f"agent-{zone[-1]}{index}", "kube-system", name, {"app": "agent"}, daemonset=True))
    fake.add(node("node-a-untagged", ZONES[0], chaos=False))
    fake.add(pod("app-untagged", "shop", "node-a-untagged", {"app": "shop"}))
    fake.add(workload("StatefulSet", "argocd", "argocd-application-controller", 1,
                      {"app.kubernetes.io/name": "argocd-application-controller"}))
    fake.add(lease("kube-system", "kube-scheduler", "ip-10-0-1-10_3f2a"))
    fake.add(argo_application("platform"))


CONTROL_PLANE_COMPONENTS = ("etcd", "kube-apiserver", "kube-scheduler")


def build_control_plane(fake: FakeKubeApiServer, components: tuple[str, ...] = CONTROL_PLANE_COMPONENTS) -> None:
    """A self-managed control plane: nodes cp-0..cp-2, each with a static pod per component (etcd, API server,
    scheduler by default) in kube-system, named ``<component>-<node>`` as kubeadm names them."""
    for index, zone in enumerate(ZONES):
        name = f"cp-{index}"
        fake.add(node(name, zone, chaos=False))
        for component in components:
            fake.add(pod(f"{component}-{name}", "kube-system", name, {"component": component, "tier": "control-plane"}))


def pod_uids(fake: FakeKubeApiServer, namespace: str | None = None) -> dict[tuple[str, str], str]:
    """Return ``{(namespace, name): uid}`` of every pod stored in the fake (in ``namespace`` when given)."""
    return {(p["metadata"]["namespace"], p["metadata"]["name"]): p["metadata"]["uid"] for p in fake.objects("pods", namespace)}


def leader_lease(component: str, node_name: str) -> dict[str, Any]:
    """The Lease a leader-elected control-plane component holds, as a real one reads: ``<hostname>_<uuid>``."""
    return lease("kube-system", component, f"{node_name}_1234abcd-5678-90ef-1234-567890abcdef")


def set_synced_revision(fake: FakeKubeApiServer, name: str, commit: str, namespace: str = "argocd") -> None:
    """Set an Argo CD Application's ``status.sync.revision`` (Synced, Healthy) as its controller would, through the fake's API."""
    status, _ = fake.handle("PATCH", f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/applications/{name}", {},
                            {"status": {"sync": {"status": "Synced", "revision": commit}, "health": {"status": "Healthy"}}},
                            "application/merge-patch+json")
    assert status == 200, f"the fake refused the status update ({status})"


def set_lease_holder(fake: FakeKubeApiServer, namespace: str, name: str, holder: str,
                     serve: Callable[..., tuple[int, Any]] | None = None) -> None:
    """Make ``holder`` the Lease's ``holderIdentity`` as a new leader would, through the fake's API
    (through ``serve``, the fake's request handler, when given: e.g. the original one a test wraps)."""
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"
    status, _ = (serve or fake.handle)("PATCH", path, {}, {"spec": {"holderIdentity": holder}}, "application/merge-patch+json")
    assert status == 200, f"the fake refused the Lease update ({status})"
