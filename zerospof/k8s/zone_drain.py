"""``ZoneDrain``: cordon and drain the nodes of one availability zone (``topology.kubernetes.io/zone``)."""

from __future__ import annotations

from typing import Any

from zerospof.cloud.boundary import CloudApiError
from zerospof.errors import FaultError, FaultNotInEffect
from zerospof.k8s.fault_base import KubeFault

__all__ = ["ZONE_LABEL", "ZoneDrain"]

ZONE_LABEL = "topology.kubernetes.io/zone"


def _evictable(pod: Any) -> bool:
    """Return False for DaemonSet pods and mirror (static) pods, which a drain leaves alone."""
    owners = pod.metadata.owner_references or []
    annotations = pod.metadata.annotations or {}
    return not any(owner.kind == "DaemonSet" for owner in owners) and "kubernetes.io/config.mirror" not in annotations


class ZoneDrain(KubeFault):
    """Cordon every selected node in ``zone`` and evict its pods.

    params: ``kube``, ``zone``, ``node_label_selector`` (only nodes matching it are touched),
    ``evict`` (default true). The drain is in effect once every selected node is cordoned and each of
    its evictable pods is evicted (terminating counts: its grace period may outlast the check) or
    protected by a PodDisruptionBudget. ``prepare`` records which nodes were already unschedulable;
    ``revert`` uncordons exactly the nodes that were schedulable before (evicted pods are
    recreated elsewhere by their controllers and are not moved back). Idempotent.
    """

    kind = "zone-drain"

    def describe(self) -> str:
        return f"{self.kind}(context={self.params['kube']['context']}, zone={self.params['zone']})"

    def _selector(self) -> str:
        extra = self.params.get("node_label_selector") or ""
        return ",".join(filter(None, [f"{ZONE_LABEL}={self.params['zone']}", extra]))

    def prepare(self) -> None:
        nodes = self.kube.core.list_node(label_selector=self._selector()).items
        if not nodes:
            raise FaultError(f"no node matches {self._selector()!r}; nothing to drain")
        self.undo = {"nodes": [{"name": n.metadata.name, "was_unschedulable": bool(n.spec.unschedulable)} for n in nodes],
                     "cordoned": [], "evicted": [], "eviction_blocked": []}

    def inject(self) -> None:
        core = self.kube.core
        for node in self.undo["nodes"]:
            if not node["was_unschedulable"] and node["name"] not in self.undo["cordoned"]:
                self.undo["cordoned"].append(node["name"])
                self.checkpoint()
                core.patch_node(node["name"], {"spec": {"unschedulable": True}})
        if self.params.get("evict", True):
            for node in self.undo["nodes"]:
                self._evict_pods_of(node["name"])

    def _evict_pods_of(self, node_name: str) -> None:
        from kubernetes.client import V1Eviction, V1ObjectMeta
        core = self.kube.core
        pods = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node_name}").items
        for pod in filter(_evictable, pods or []):
            body = V1Eviction(metadata=V1ObjectMeta(name=pod.metadata.name, namespace=pod.metadata.namespace))
            try:
                core.create_namespaced_pod_eviction(pod.metadata.name, pod.metadata.namespace, body)
                self.undo["evicted"].append(f"{pod.metadata.namespace}/{pod.metadata.name}")
            except CloudApiError as exc:
                if exc.code == "429":  # a PodDisruptionBudget blocks it: a finding, not a failure
                    self.undo["eviction_blocked"].append(f"{pod.metadata.namespace}/{pod.metadata.name}")
                elif not exc.is_not_found:
                    raise
        self.checkpoint()

    def verify(self) -> None:
        core = self.kube.core
        names = {node["name"] for node in self.undo.get("nodes", [])}
        nodes = [n for n in core.list_node(label_selector=self._selector()).items if n.metadata.name in names]
        schedulable = [n.metadata.name for n in nodes if not n.spec.unschedulable]
        if schedulable:
            raise FaultNotInEffect(f"nodes still schedulable: {schedulable}")
        if self.params.get("evict", True):
            blocked = set(self.undo.get("eviction_blocked", []))
            for name in sorted(names):
                left = [f"{p.metadata.namespace}/{p.metadata.name}" for p in
                        core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={name}").items
                        if _evictable(p) and p.metadata.deletion_timestamp is None]  # terminating: evicted
                if set(left) - blocked:
                    raise FaultNotInEffect(f"pods still on drained node {name}: {sorted(set(left) - blocked)}")

    def revert(self) -> None:
        core = self.kube.core
        for node in self.undo.get("nodes", []):
            if node["was_unschedulable"]:
                continue
            try:
                current = core.read_node(node["name"])
            except CloudApiError as exc:
                if exc.is_not_found:
                    continue
                raise
            if current.spec.unschedulable:
                core.patch_node(node["name"], {"spec": {"unschedulable": None}})
