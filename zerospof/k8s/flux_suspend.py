"""``FluxSuspend``: suspend Flux Kustomizations (``spec.suspend: true``) so Flux stops reconciling."""

from __future__ import annotations

from zerospof.errors import FaultError, FaultNotInEffect
from zerospof.k8s.fault_base import KubeFault

__all__ = ["SUSPENDED_BY", "FluxSuspend", "KUSTOMIZATIONS"]

KUSTOMIZATIONS = _GROUP, _VERSION, _PLURAL = "kustomize.toolkit.fluxcd.io", "v1", "kustomizations"
SUSPENDED_BY = "zerospof.io/suspended"  # on a Kustomization zerospof suspended: ``zerospof revert --target`` resumes it


class FluxSuspend(KubeFault):
    """Suspend every Kustomization in ``namespace`` matching ``label_selector``.

    ``prepare`` records each one's ``spec.suspend``; ``inject`` suspends those that were running and
    marks them (annotation ``SUSPENDED_BY``, so the cluster itself says what to resume); ``revert``
    puts back the recorded value on those that are still suspended and drops the mark. Idempotent.
    """

    kind = "flux-suspend"

    def describe(self) -> str:
        return f"{self.kind}({self.params['namespace']}/{self.params.get('label_selector') or '*'})"

    def _list(self) -> list[dict]:
        found = self.kube.custom.list_namespaced_custom_object(_GROUP, _VERSION, self.params["namespace"], _PLURAL,
                                                               label_selector=self.params.get("label_selector") or "")
        return list(found.get("items", []))

    def _patch(self, name: str, suspend: bool, mark: bool = False) -> None:
        self.kube.custom.patch_namespaced_custom_object(_GROUP, _VERSION, self.params["namespace"], _PLURAL, name, {
            "metadata": {"annotations": {SUSPENDED_BY: "true" if mark else None}}, "spec": {"suspend": suspend}})

    def prepare(self) -> None:
        items = self._list()
        if not items:
            raise FaultError(f"no Flux Kustomization for {self.describe()}")
        self.undo = {"was_suspended": {i["metadata"]["name"]: bool(i.get("spec", {}).get("suspend")) for i in items}}

    def inject(self) -> None:
        for name, was in sorted(self.undo["was_suspended"].items()):
            self._patch(name, True, mark=not was)

    def verify(self) -> None:
        names = set(self.undo.get("was_suspended", {}))
        active = [i["metadata"]["name"] for i in self._list() if i["metadata"]["name"] in names and not i.get("spec", {}).get("suspend")]
        if active:
            raise FaultNotInEffect(f"Kustomizations not suspended: {active}")

    def revert(self) -> None:
        current = {i["metadata"]["name"]: i for i in self._list()}
        for name, was in sorted(self.undo.get("was_suspended", {}).items()):
            item = current.get(name)
            marked = item is not None and SUSPENDED_BY in (item["metadata"].get("annotations") or {})
            if item is not None and (bool(item.get("spec", {}).get("suspend")) != was or marked):
                self._patch(name, was)
