"""``ScaleWorkload``: scale a deployment or statefulset (e.g. the Argo CD application controller) to N replicas."""

from __future__ import annotations

from typing import Any

from zerospof.errors import FaultNotInEffect
from zerospof.k8s.fault_base import KubeFault

__all__ = ["ORIGINAL_REPLICAS", "ScaleWorkload", "api_name", "annotate_workload"]

ORIGINAL_REPLICAS = "zerospof.io/original-replicas"  # on a scaled workload: what ``zerospof revert --target`` restores


def api_name(workload_kind: str) -> str:
    """Return the kubernetes client's spelling of a workload kind (``statefulset`` -> ``stateful_set``)."""
    return {"deployment": "deployment", "statefulset": "stateful_set"}[workload_kind]


class ScaleWorkload(KubeFault):
    """Scale ``namespace/name`` (``workload_kind`` deployment|statefulset) to ``replicas`` (default 0).

    ``prepare`` records the original replica count; ``inject`` first writes it on the workload too
    (annotation ``ORIGINAL_REPLICAS``, so the cluster itself says how to undo it), then scales;
    ``revert`` scales back to it when it differs and removes the annotation. Idempotent.
    """

    kind = "scale-workload"

    def describe(self) -> str:
        p = self.params
        return f"{self.kind}({p['workload_kind']} {p['namespace']}/{p['name']} -> {p.get('replicas', 0)})"

    def _read(self) -> object:
        method = f"read_namespaced_{api_name(self.params['workload_kind'])}_scale"
        return getattr(self.kube.apps, method)(self.params["name"], self.params["namespace"])

    def _patch(self, replicas: int) -> None:
        method = f"patch_namespaced_{api_name(self.params['workload_kind'])}_scale"
        getattr(self.kube.apps, method)(self.params["name"], self.params["namespace"], {"spec": {"replicas": replicas}})

    def prepare(self) -> None:
        self.undo = {"original_replicas": int(self._read().spec.replicas or 0)}

    def inject(self) -> None:
        annotate_workload(self.kube, self.params["workload_kind"], self.params["namespace"], self.params["name"],
                          str(self.undo["original_replicas"]))
        self._patch(int(self.params.get("replicas", 0)))

    def verify(self) -> None:
        scale = self._read()
        wanted = int(self.params.get("replicas", 0))
        if (scale.spec.replicas or 0) != wanted or (scale.status.replicas or 0) != wanted:  # the API omits a 0
            raise FaultNotInEffect(f"{self.describe()}: spec {scale.spec.replicas}, running {scale.status.replicas}")

    def revert(self) -> None:
        if "original_replicas" not in self.undo:
            return
        if int(self._read().spec.replicas or 0) != self.undo["original_replicas"]:
            self._patch(self.undo["original_replicas"])
        annotate_workload(self.kube, self.params["workload_kind"], self.params["namespace"], self.params["name"], None)


def annotate_workload(kube: Any, workload_kind: str, namespace: str, name: str, original: str | None) -> None:
    """Set (or, with None, remove) the ``ORIGINAL_REPLICAS`` annotation of a deployment or statefulset."""
    getattr(kube.apps, f"patch_namespaced_{api_name(workload_kind)}")(
        name, namespace, {"metadata": {"annotations": {ORIGINAL_REPLICAS: original}}})
