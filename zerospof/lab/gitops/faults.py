"""GitOps faults: SIGKILL the active reconciler; make the primary git host unreachable; both.

``ActiveReconcilerKill`` kills whoever holds the GitOps Lease (revert starts it again).
``GitHostUnreachable`` sets the git host's namespace link down (a :class:`LinkDown`; revert sets
it up again): the host keeps running but nothing reaches it, as when a hosted git service is out.
``GitOpsFailure`` (the ``gitops`` scenario) does both. All reverts are idempotent and work from
params + undo alone.
"""

from __future__ import annotations

import socket
from typing import Any

from zerospof.errors import FaultNotInEffect
from zerospof.faults.base import Fault
from zerospof.faults.link import LinkDown
from zerospof.lab.controlplane.faults import CompositeFault, KubeLeaseHolderKill
from zerospof.lab.gitops import layout, reconciler

__all__ = ["ActiveReconcilerKill", "GitHostUnreachable", "GitOpsFailure"]


class ActiveReconcilerKill(KubeLeaseHolderKill):
    """SIGKILL the reconciler holding the GitOps Lease (``zerospof-lab/gitops-controller``).
    params: ``processes``, ``kubeconfig`` (see :class:`KubeLeaseHolderKill`)."""

    kind = "reconciler-kill"
    default_lease = reconciler.LEASE
    default_namespace = reconciler.NAMESPACE


class GitHostUnreachable(Fault):
    """Cut the primary git host off the network.

    params: ``links`` (``[{"namespace", "device"}]``, default the lab's ``zs-git1``/``eth0``),
    ``address`` and ``port`` (checked unreachable by ``verify``). undo: the LinkDown's undo.
    """

    kind = "git-host-unreachable"

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        super().__init__(params, undo)
        primary = layout.GIT_PLACES["primary"]
        self.params.setdefault("links", [{"namespace": primary.namespace, "device": primary.device}])
        self.params.setdefault("address", primary.address)
        self.params.setdefault("port", layout.GIT_PORT)

    def _links(self) -> LinkDown:
        return LinkDown({"links": self.params["links"]}, self.undo)

    def prepare(self) -> None:
        links = self._links()
        links.prepare()
        self.undo = links.undo

    def inject(self) -> None:
        self._links().inject()

    def verify(self) -> None:
        self._links().verify()
        if _answers(self.params["address"], int(self.params["port"])):
            raise FaultNotInEffect(f"{self.params['address']}:{self.params['port']} still answers")

    def revert(self) -> None:
        self._links().revert()


def _answers(address: str, port: int, timeout_s: float = 0.3) -> bool:
    """Return True when ``address`` answers at all: a connect is accepted or actively refused."""
    try:
        with socket.create_connection((address, port), timeout=timeout_s):
            return True
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


class GitOpsFailure(CompositeFault):
    """The ``gitops`` scenario: kill the active reconciler, then cut the primary git host off.

    params: shared ``processes`` (and ``kubeconfig``); per part ``reconciler`` and ``git_host``
    (e.g. ``{"links": [...], "address": ..., "port": ...}``).
    """

    kind = "gitops"
    parts = {"reconciler": ActiveReconcilerKill, "git_host": GitHostUnreachable}
