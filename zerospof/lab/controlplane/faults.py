"""Control-plane faults: SIGKILL the etcd leader, a kube-apiserver, the Lease-holding kube-scheduler or
kube-controller-manager, or all four.

Every fault kills components through a process owner (see :mod:`.processes`: the lab supervisor,
or a stand-in with the same ``kill``/``start``/``status``) and chooses its victims in ``prepare``
(who leads *now*), recording them in ``undo["targets"]``. ``inject`` records ``undo["killed"]``
(checkpointed) before it kills. Revert (idempotent, from params + undo alone) starts the killed
components again; starting a running component does nothing. SIGKILL, never SIGTERM: SIGTERM on
an etcd leader triggers a ~6 s leadership transfer instead of a failure.

Common params: ``processes`` (default: the lab supervisor), ``endpoints`` (the control plane's
etcd client URLs; default: the lab's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import yaml

from zerospof.errors import FaultError, FaultNotInEffect, LabError
from zerospof.faults.base import Fault
from zerospof.lab.controlplane import layout
from zerospof.lab.controlplane.processes import Processes, default_processes, processes_from, running
from zerospof.lab.controlplane.signals import etcd_leader, kube_lease
from zerospof.lab.kube.api import KubeApi

__all__ = ["ActiveControllerManagerKill", "ActiveSchedulerKill", "ApiReplicaKill", "ComponentKill", "CompositeFault",
           "ControlPlaneFailure", "EtcdLeaderKill", "KubeLeaseHolderKill"]


class ComponentKill(Fault):
    """SIGKILL the components :meth:`choose` names at prepare time; revert starts them again."""

    kind = "component-kill"

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        super().__init__(params, undo)
        self.params.setdefault("processes", default_processes())

    def processes(self) -> Processes:
        return processes_from(self.params["processes"])

    def choose(self) -> list[str]:
        """Return the component names to kill (called once, by ``prepare``)."""
        raise NotImplementedError

    def prepare(self) -> None:
        targets = self.choose()
        if not targets:
            raise FaultError(f"{self.kind}: nothing to kill")
        self.undo["targets"] = targets
        self.undo["killed"] = []

    def inject(self) -> None:
        self.undo["killed"] = list(self.undo["targets"])
        self.checkpoint()  # before the kill: revert must restart them even if we die now
        try:
            self.processes().kill(self.undo["killed"])
        except LabError as exc:
            raise FaultError(f"{self.kind}: cannot kill {self.undo['killed']}: {exc}") from exc

    def verify(self) -> None:
        try:
            alive = running(self.processes(), self.undo.get("targets", []))
        except LabError as exc:
            raise FaultNotInEffect(f"{self.kind}: cannot read process status: {exc}") from exc
        if alive:
            raise FaultNotInEffect(f"{self.kind}: still running: {alive}")

    def revert(self) -> None:
        killed = list(self.undo.get("killed", []))
        if not killed:
            return
        try:
            self.processes().start(killed)
        except LabError as exc:
            raise FaultError(f"{self.kind}: cannot restart {killed}: {exc}") from exc


class EtcdLeaderKill(ComponentKill):
    """SIGKILL the etcd member that leads now (its member name is its component name).

    params: ``endpoints``, ``processes``. undo: ``targets``, ``killed``, ``baseline`` (leader, term).
    """

    kind = "etcd-leader-kill"

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        super().__init__(params, undo)
        self.params.setdefault("endpoints", layout.etcd_endpoints())

    def choose(self) -> list[str]:
        found = etcd_leader(self.params["endpoints"], timeout_s=0.5)
        if not found["leader"]:
            raise FaultError(f"{self.kind}: no etcd leader to kill: {found}")
        self.undo["baseline"] = {key: found[key] for key in ("leader", "leader_id", "raft_term")}
        return [found["leader"]]


class ApiReplicaKill(ComponentKill):
    """SIGKILL one kube-apiserver. params: ``component`` (default ``cp-api-r1-a``), ``processes``."""

    kind = "api-replica-kill"

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        super().__init__(params, undo)
        self.params.setdefault("component", f"cp-api-{layout.CP_ZONES[0]}")

    def choose(self) -> list[str]:
        return [str(self.params["component"])]


class KubeLeaseHolderKill(ComponentKill):
    """SIGKILL whoever holds the Kubernetes Lease ``<namespace>/<lease>`` now (its holder identity's hostname part
    is its component name: see :mod:`.layout`).

    params: ``lease``, ``namespace`` (default ``kube-system``), ``processes``, ``kubeconfig`` (default: the admin's
    of the lab in ``processes["state_dir"]``). undo: ``targets``, ``killed``, ``baseline`` (holder, component,
    transitions).
    """

    kind = "kube-lease-holder-kill"
    default_lease: ClassVar[str] = ""
    default_namespace: ClassVar[str] = "kube-system"

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        super().__init__(params, undo)
        self.params.setdefault("lease", self.default_lease)
        self.params.setdefault("namespace", self.default_namespace)
        state_dir = self.params["processes"].get("state_dir")
        if state_dir:
            self.params.setdefault("kubeconfig", str(layout.admin_kubeconfig(Path(state_dir))))

    def choose(self) -> list[str]:
        if not self.params.get("kubeconfig"):
            raise FaultError(f"{self.kind}: params.kubeconfig (or params.processes.state_dir) is needed to reach the API")
        try:
            api = KubeApi.from_kubeconfig(Path(self.params["kubeconfig"]), timeout_s=1.0)
        except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError) as exc:
            raise FaultError(f"{self.kind}: cannot use the kubeconfig {self.params['kubeconfig']}: {exc}") from exc
        found = kube_lease(api, self.params["lease"], namespace=self.params["namespace"])
        if not found["held"]:
            raise FaultError(f"{self.kind}: nobody holds the Lease {self.params['namespace']}/{self.params['lease']}: "
                             f"{found}")
        self.undo["baseline"] = {key: found[key] for key in ("holder", "component", "transitions")}
        return [found["component"]]


class ActiveSchedulerKill(KubeLeaseHolderKill):
    """SIGKILL the kube-scheduler that holds the ``kube-scheduler`` Lease (the standby should take over)."""

    kind = "scheduler-kill"
    default_lease = "kube-scheduler"


class ActiveControllerManagerKill(KubeLeaseHolderKill):
    """SIGKILL the kube-controller-manager that holds its Lease (the standby should take over)."""

    kind = "controller-manager-kill"
    default_lease = "kube-controller-manager"


class CompositeFault(Fault):
    """Several faults as one: parts injected in order, reverted in reverse, every revert attempted.

    Each part's params are ``params[<part>]`` merged over the shared params (every key that is
    not a part name); its undo is ``undo[<part>]``.
    """

    kind = "composite"
    parts: ClassVar[dict[str, type[Fault]]] = {}

    def _part(self, name: str) -> Fault:
        shared = {key: value for key, value in self.params.items() if key not in self.parts}
        part = self.parts[name]({**shared, **self.params.get(name, {})}, self.undo.get(name))
        def checkpoint() -> None:
            self.undo[name] = part.undo
            self.checkpoint()
        part.bind_checkpoint(checkpoint)
        return part

    def _each(self, method: str, names: list[str]) -> None:
        for name in names:
            part = self._part(name)
            getattr(part, method)()
            self.undo[name] = part.undo

    def prepare(self) -> None:
        self._each("prepare", list(self.parts))

    def inject(self) -> None:
        self._each("inject", list(self.parts))

    def verify(self) -> None:
        self._each("verify", list(self.parts))

    def revert(self) -> None:
        errors = []
        for name in reversed(list(self.parts)):
            try:
                self._each("revert", [name])
            except Exception as exc:  # noqa: BLE001 - revert every part, report every failure
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
        if errors:
            raise FaultError(f"{self.kind}: revert failed for " + "; ".join(errors))


class ControlPlaneFailure(CompositeFault):
    """The ``control-plane`` scenario: kill the etcd leader, a kube-apiserver and the Lease-holding kube-scheduler
    and kube-controller-manager.

    params: shared ``endpoints``, ``processes``; per part ``etcd_leader``, ``api_replica``
    (e.g. ``{"component": "cp-api-r1-b"}``), ``scheduler``, ``controller_manager``. Who leads is read for every
    part before anything is killed.
    """

    kind = "control-plane"
    parts = {"etcd_leader": EtcdLeaderKill, "api_replica": ApiReplicaKill, "scheduler": ActiveSchedulerKill,
             "controller_manager": ActiveControllerManagerKill}

    def inject(self) -> None:
        """Kill all four at once: one checkpoint naming every victim, then one SIGKILL sweep.

        Part by part (a checkpoint and a wait for each process to be gone), a loaded machine took seconds: etcd
        elected its new leader and the LB marked the API server DOWN before the last kill, so before t0, and
        their detection read as ~0.
        """
        parts = {name: self._part(name) for name in self.parts}
        for name, part in parts.items():
            part.undo["killed"] = list(part.undo["targets"])
            self.undo[name] = part.undo
        self.checkpoint()  # before the kill: revert must restart them even if we die now
        victims = [victim for part in parts.values() for victim in part.undo["killed"]]
        try:
            next(iter(parts.values())).processes().kill(victims)  # the shared process owner
        except LabError as exc:
            raise FaultError(f"{self.kind}: cannot kill {victims}: {exc}") from exc
