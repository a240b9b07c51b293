"""``PodKill``: delete pods (control-plane members, the active GitOps controller); their controllers bring them back."""

from __future__ import annotations

import re

from chaosk8s.pod.actions import terminate_pods

from zerospof.errors import FaultError, FaultNotInEffect
from zerospof.k8s.fault_base import KubeFault

__all__ = ["PodKill"]


class PodKill(KubeFault):
    """Delete the pods matching ``label_selector`` in ``namespace`` (grace period 0 = a crash).

    With ``lease`` (``{"namespace", "name"}``) only the pod named in the lease's holder identity
    is killed: the active scheduler, the leading controller. ``limit`` kills at most that many
    (first by name): one member of a quorum, not the quorum. ``prepare`` records the chosen pods;
    ``inject`` deletes exactly those through chaostoolkit-kubernetes
    (``chaosk8s.pod.actions.terminate_pods``, their names as an anchored pattern within the
    selector). Revert has nothing to undo: the kubelet (static pods) or the workload controller
    recreates the pods; it is a no-op by design.
    """

    kind = "pod-kill"

    def describe(self) -> str:
        return f"{self.kind}({self.params['namespace']}/{self.params['label_selector']})"

    def _holder(self) -> str | None:
        lease = self.params.get("lease")
        if not lease:
            return None
        found = self.kube.coordination.read_namespaced_lease(lease["name"], lease["namespace"])
        return found.spec.holder_identity if found.spec else None

    def prepare(self) -> None:
        pods = self.kube.core.list_namespaced_pod(self.params["namespace"], label_selector=self.params["label_selector"]).items
        holder = self._holder()
        if self.params.get("lease"):
            pods = [p for p in pods if holder and p.metadata.name in holder]
        pods = sorted(pods, key=lambda p: p.metadata.name)[: self.params.get("limit") or None]
        if not pods:
            raise FaultError(f"no pod to kill for {self.describe()} (lease holder: {holder})")
        self.undo = {"pods": [{"name": p.metadata.name, "uid": p.metadata.uid} for p in pods]}

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
