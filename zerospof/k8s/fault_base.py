"""``KubeFault``: the base of faults that act through the Kubernetes API, built from their params alone."""

from __future__ import annotations

from typing import Any

from zerospof.faults.base import Fault
from zerospof.k8s.clients import KubeClients

__all__ = ["KubeFault"]


class KubeFault(Fault):
    """A fault in one cluster. params: ``kube`` = ``{"context", "allowed_contexts", "kubeconfig"}``.

    A fault rebuilt from a ledger record reaches the same cluster; :meth:`use_kube` swaps in
    other clients (dry run).
    """

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        super().__init__(params, undo)
        self._kube: KubeClients | None = None

    def use_kube(self, kube: KubeClients) -> KubeFault:
        """Act through ``kube`` and return self."""
        self._kube = kube
        return self

    @property
    def kube(self) -> KubeClients:
        if self._kube is None:
            self._kube = KubeClients.from_params(self.params)
        return self._kube
