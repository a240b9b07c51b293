"""``PodKill``: delete pods (control-plane members, the active GitOps controller); their controllers bring them back."""

from __future__ import annotations

import re
from typing import Any

from chaosk8s.pod.actions import terminate_pods

from zerospof.cloud.boundary import CloudApiError
from zerospof.errors import FaultError, FaultNotInEffect
from zerospof.k8s.fault_base import KubeFault

__all__ = ["PodKill", "holds_lease"]


def holds_lease(pod: Any, holder: str) -> bool:
    """Return whether ``pod`` (a kubernetes ``V1Pod``) is the process a Lease's ``holderIdentity`` names.

    Leader-elected components name themselves ``<hostname>_<uuid>`` (kube-scheduler,
    kube-controller-manager, controller-runtime controllers such as Flux's) or just their name.
    A pod holds the lease when its name is the holder identity, or the host part (before the first
    ``_``) is its name (a pod's hostname is its name) or its node's name (static control-plane pods
    run on the host network, so their hostname is the node's). No prefix or substring matching:
    ``kube-scheduler-node-b`` does not hold ``kube-scheduler-node-b2_...``.
    """
    host = holder.split("_", 1)[0]
    node_name = pod.spec.node_name if pod.spec else None
    return pod.metadata.name in (holder, host) or (bool(node_name) and node_name == host)


class PodKill(KubeFault):
    """Delete the pods matching ``label_selector`` in ``namespace`` (grace period 0 = a crash).

    With ``lease`` (``{"namespace", "name"}``) only the pod holding the lease is killed: the
    active scheduler or controller-manager, the leading controller (see :func:`holds_lease`);
    ``prepare`` fails (FaultError, nothing deleted) when the lease has no holder or its holder is
    not exactly one selected pod. ``limit`` kills at most that many (first by name): one member
    of a quorum, not the quorum. ``names``: only the selected pods of these names (one member of the SPOF sweep). ``prepare`` records the chosen pods (and the holder);
    ``inject`` deletes exactly those through chaostoolkit-kubernetes
    (``chaosk8s.pod.actions.terminate_pods``, their names as an anchored pattern within the
    selector). Revert has nothing to undo: the kubelet (static pods) or the workload controller
    recreates the pods; it is a no-op by design.
    """

    kind = "pod-kill"

    def describe(self) -> str:
        names = f" named {','.join(self.params['names'])}" if self.params.get("names") else ""
        return f"{self.kind}({self.params['namespace']}/{self.params['label_selector']}{names})"

    def _holder(self) -> str:
        lease = self.params["lease"]
        try:
            found = self.kube.coordination.read_namespaced_lease(lease["name"], lease["namespace"])
        except CloudApiError as exc:
            if not exc.is_not_found:
                raise
            raise FaultError(f"{self.describe()}: Lease {lease['namespace']}/{lease['name']} does not exist "
                             "(is leader election on?); nothing deleted") from exc
        holder = found.spec.holder_identity if found.spec else None
        if not holder:
            raise FaultError(f"{self.describe()}: Lease {lease['namespace']}/{lease['name']} has no holder: "
                             "no active instance to kill")
        return holder

    def _lease_holder_pods(self, pods: list[Any]) -> tuple[str, list[Any]]:
        lease = self.params["lease"]
        holder = self._holder()
        holding = [p for p in pods if holds_lease(p, holder)]
        if len(holding) != 1:
            matched = f"matches {len(holding)} selected pods {sorted(p.metadata.name for p in holding)}" if holding \
                else f"matches none of the {len(pods)} selected pods"
            raise FaultError(f"{self.describe()}: the holder {holder!r} of Lease {lease['namespace']}/{lease['name']} "
                             f"{matched} (expected exactly one: named {holder!r} or {holder.split('_', 1)[0]!r}, "
                             "or running on that node); nothing deleted")
        return holder, holding

    def prepare(self) -> None:
        pods = self.kube.core.list_namespaced_pod(self.params["namespace"], label_selector=self.params["label_selector"]).items
        if self.params.get("names"):
            pods = [pod for pod in pods if pod.metadata.name in self.params["names"]]
        undo: dict[str, Any] = {}
        if self.params.get("lease"):
            undo["holder"], pods = self._lease_holder_pods(pods)
        pods = sorted(pods, key=lambda p: p.metadata.name)[: self.params.get("limit") or None]
        if not pods:
            raise FaultError(f"no pod to kill for {self.describe()}")
        self.undo = {**undo, "pods": [{"name": p.metadata.name, "uid": p.metadata.uid} for p in pods]}

    def inject(self) -> None:
        names = "|".join(re.escape(pod["name"]) for pod in self.undo["pods"])
        self.kube.run_activity(terminate_pods, label_selector=self.params["label_selector"], name_pattern=f"^(?:{names})$",
                               all=True, grace_period=0, ns=self.params["namespace"])

    def verify(self) -> None:
        alive = {p.metadata.uid for p in self.kube.core.list_namespaced_pod(
            self.params["namespace"], label_selector=self.params["label_selector"]).items}
        survivors = [pod["name"] for pod in self.undo.get("pods", []) if pod["uid"] in alive]
        if survivors:
            raise FaultNotInEffect(f"pods not killed: {survivors}")

    def revert(self) -> None:
        """Nothing to undo: the pods' controllers recreate them."""
