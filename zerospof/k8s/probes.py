"""Kubernetes detection probes: node Ready conditions, Lease holders, Argo CD Application sync/health.

Each returns a plain dict; detection-signal probes include ``{"detected": bool}``.
"""

from __future__ import annotations

from typing import Any

from zerospof.k8s.clients import KubeClients
from zerospof.k8s.scale import api_name

__all__ = ["argocd_application", "lease_holder", "node_readiness", "workload_readiness"]


def node_readiness(kube: KubeClients, label_selector: str = "") -> dict[str, Any]:
    """Report nodes whose ``Ready`` condition is not ``True``; detected when any is NotReady."""
    nodes = kube.core.list_node(label_selector=label_selector).items
    not_ready = []
    for node in nodes:
        conditions = {c.type: c.status for c in (node.status.conditions or [])} if node.status else {}
        if conditions.get("Ready") != "True":
            not_ready.append(node.metadata.name)
    return {"nodes": len(nodes), "not_ready": sorted(not_ready), "detected": bool(not_ready)}


def lease_holder(kube: KubeClients, namespace: str, name: str, baseline_holder: str | None = None) -> dict[str, Any]:
    """Report who holds a ``coordination.k8s.io`` Lease; detected when it differs from ``baseline_holder``."""
    spec = kube.coordination.read_namespaced_lease(name, namespace).spec
    holder = spec.holder_identity if spec else None
    return {
        "holder": holder,
        "transitions": (spec.lease_transitions if spec else None) or 0,
        "renew_time": spec.renew_time.isoformat() if spec and spec.renew_time else None,
        "detected": baseline_holder is not None and holder != baseline_holder,
    }


def argocd_application(kube: KubeClients, namespace: str, name: str) -> dict[str, Any]:
    """Report an Argo CD Application's sync and health; detected when not Synced or not Healthy."""
    app = kube.custom.get_namespaced_custom_object("argoproj.io", "v1alpha1", namespace, "applications", name)
    status = app.get("status") or {}
    sync = (status.get("sync") or {}).get("status")
    health = (status.get("health") or {}).get("status")
    return {"sync": sync, "health": health, "revision": (status.get("sync") or {}).get("revision"),
            "detected": sync != "Synced" or health != "Healthy"}


def workload_readiness(kube: KubeClients, namespace: str, workload_kind: str, name: str) -> dict[str, Any]:
    """Report a deployment's/statefulset's ready replicas; detected when fewer are ready than wanted."""
    workload = getattr(kube.apps, f"read_namespaced_{api_name(workload_kind)}")(name, namespace)
    wanted = workload.spec.replicas or 0
    ready = (workload.status.ready_replicas if workload.status else 0) or 0
    return {"replicas": wanted, "ready": ready, "detected": ready < wanted}
