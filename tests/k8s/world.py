"""Build a small EKS-like cluster in the real API server: nodes in three zones, workloads, leases, an Argo CD app.

Nodes are API objects only (no kubelet: ``tests/k8s/stand_in_kubelet.py`` plays its part for pods).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from kubernetes import client

from tests.k8s.cluster import TestCluster

ZONES = ["us-west-2a", "us-west-2b", "us-west-2c"]
CHAOS_LABEL = "zerospof/chaos=allowed"
NODE_CAPACITY = {"cpu": "8", "memory": "32Gi", "pods": "110"}


def node(name: str, zone: str, ready: bool = True, chaos: bool = True) -> dict[str, Any]:
    labels = {"topology.kubernetes.io/zone": zone, "kubernetes.io/hostname": name}
    if chaos:
        labels["zerospof/chaos"] = "allowed"
    return {"kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": {},
            "status": {"capacity": NODE_CAPACITY, "allocatable": NODE_CAPACITY,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "reason": "StandInKubeletReady" if ready else "StandInKubeletNotReady"}]}}


def pod(name: str, namespace: str, node_name: str, labels: dict[str, str] | None = None,
        owner: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pod bound to ``node_name`` (as a static pod or a scheduled one); ``owner``: a stored object owning it."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"], "controller": True,
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}]
    return {"kind": "Pod", "metadata": meta,
            "spec": {"nodeName": node_name, "containers": [{"name": "main", "image": "app"}]}}


def workload(kind: str, namespace: str, name: str, replicas: int, labels: dict[str, str],
             node_name: str | None = None) -> dict[str, Any]:
    """A Deployment or StatefulSet; its pods go where the real scheduler puts them (only on ``node_name`` when given)."""
    pod_spec: dict[str, Any] = {"containers": [{"name": "main", "image": name}]}
    if node_name:
        pod_spec["nodeSelector"] = {"kubernetes.io/hostname": node_name}
    spec: dict[str, Any] = {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                            "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec}}
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"kind": kind, "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)}, "spec": spec}


def lease(namespace: str, name: str, holder: str) -> dict[str, Any]:
    return {"kind": "Lease", "metadata": {"name": name, "namespace": namespace},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "leaseTransitions": 0}}


def argo_application(name: str, sync: str = "Synced", health: str = "Healthy") -> dict[str, Any]:
    return {"kind": "Application", "metadata": {"name": name, "namespace": "argocd"},
            "spec": {"project": "default", "source": {"repoURL": "https://git.example/platform", "path": "."}},
            "status": {"sync": {"status": sync, "revision": "abc123"}, "health": {"status": health}}}


def build_cluster(cluster: TestCluster) -> None:
    """Two chaos-allowed nodes per zone plus one untagged node in the first zone, a bare app pod on each (no
    controller brings it back), a DaemonSet pod on each chaos-allowed node, and the Argo CD application
    controller (a StatefulSet of 1, on node-c1: no test drains zone c), the scheduler's Lease and an Argo CD Application."""
    agent = cluster.add({"kind": "DaemonSet", "metadata": {"name": "node-agent", "namespace": "kube-system"},
                         "spec": {"selector": {"matchLabels": {"app": "agent"}},
                                  "template": {"metadata": {"labels": {"app": "agent"}},
                                               "spec": {"containers": [{"name": "main", "image": "agent"}]}}}})
    for zone in ZONES:
        for index in range(2):
            name = f"node-{zone[-1]}{index}"
            cluster.add(node(name, zone))
            cluster.add(pod(f"app-{zone[-1]}{index}", "shop", name, {"app": "shop"}))
            cluster.add(pod(f"agent-{zone[-1]}{index}", "kube-system", name, {"app": "agent"}, owner=agent))
    cluster.add(node("node-a-untagged", ZONES[0], chaos=False))
    cluster.add(pod("app-untagged", "shop", "node-a-untagged", {"app": "shop"}))
    cluster.add(workload("StatefulSet", "argocd", "argocd-application-controller", 1,
                         {"app.kubernetes.io/name": "argocd-application-controller"}, node_name="node-c1"))
    cluster.add(lease("kube-system", "kube-scheduler", "ip-10-0-1-10_3f2a"))
    cluster.add(argo_application("platform"))


CONTROL_PLANE_COMPONENTS = ("etcd", "kube-apiserver", "kube-scheduler")


def build_control_plane(cluster: TestCluster, components: tuple[str, ...] = CONTROL_PLANE_COMPONENTS) -> None:
    """A self-managed control plane: nodes cp-0..cp-2, each with a static pod per component (etcd, API server,
    scheduler by default) in kube-system, named ``<component>-<node>`` as kubeadm names them."""
    for index, zone in enumerate(ZONES):
        name = f"cp-{index}"
        cluster.add(node(name, zone, chaos=False))
        for component in components:
            cluster.add(pod(f"{component}-{name}", "kube-system", name, {"component": component, "tier": "control-plane"}))


def pod_uids(cluster: TestCluster, namespace: str | None = None) -> dict[tuple[str, str], str]:
    """Return ``{(namespace, name): uid}`` of every pod the API server stores that is not being deleted
    (in ``namespace`` when given)."""
    return {(p["metadata"]["namespace"], p["metadata"]["name"]): p["metadata"]["uid"]
            for p in cluster.objects("pods", namespace) if not p["metadata"].get("deletionTimestamp")}


def leader_lease(component: str, node_name: str) -> dict[str, Any]:
    """The Lease a leader-elected control-plane component holds, as a real one reads: ``<hostname>_<uuid>``."""
    return lease("kube-system", component, f"{node_name}_1234abcd-5678-90ef-1234-567890abcdef")


def set_synced_revision(cluster: TestCluster, name: str, commit: str, namespace: str = "argocd") -> None:
    """Set an Argo CD Application's ``status.sync.revision`` (Synced, Healthy) as its controller would."""
    cluster.patch("applications", namespace, name,
                  {"status": {"sync": {"status": "Synced", "revision": commit}, "health": {"status": "Healthy"}}})


def take_lease(coordination: Any, namespace: str, name: str, holder: str) -> None:
    """Make ``holder`` the Lease's holder as client-go's leader election does: read it, then replace it with the
    ``resourceVersion`` read (optimistic concurrency: the API server answers 409 when it changed meanwhile)."""
    current = coordination.read_namespaced_lease(name, namespace)
    now = datetime.now(timezone.utc)
    transitions = (current.spec.lease_transitions or 0) + (current.spec.holder_identity != holder)
    current.spec = client.V1LeaseSpec(holder_identity=holder, lease_duration_seconds=current.spec.lease_duration_seconds,
                                      acquire_time=now, renew_time=now, lease_transitions=transitions)
    coordination.replace_namespaced_lease(name, namespace, current)


def set_lease_holder(cluster: TestCluster, namespace: str, name: str, holder: str) -> None:
    """Make ``holder`` the Lease's holder as a new leader would (:func:`take_lease`)."""
    take_lease(client.CoordinationV1Api(cluster.api_client), namespace, name, holder)
