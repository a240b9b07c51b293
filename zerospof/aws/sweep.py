"""The AWS + EKS target in the SPOF sweep: its members (:mod:`zerospof.aws.members`), users, readiness and audit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from zerospof.aws.audit import Audit, audit_aws
from zerospof.aws.driver import AwsDriver
from zerospof.aws.members import PlannedMember, aws_members
from zerospof.aws.run import bind_dry, preflight, runner_subnet_ids
from zerospof.aws.target import AwsTarget, Cluster
from zerospof.cloud.dry_run import CallRecorder
from zerospof.errors import ZerospofError
from zerospof.faults import Fault
from zerospof.k8s.clients import KubeClients
from zerospof.spof import Member, SweepTarget

__all__ = ["AwsSpofPlan"]


class AwsSpofPlan:
    """``zerospof spof --target FILE``: members from the target file's inventory and the APIs, faults through the
    ledger, users on the target file's endpoints, and the static audit. Enumeration and audit are read-only."""

    def __init__(self, target: AwsTarget, ready_timeout_s: float = 120.0) -> None:
        self.target = target
        self.name = target.name
        self.driver = AwsDriver(target)
        self.ready_timeout_s = ready_timeout_s
        self._kube: dict[str, KubeClients] = {}
        self._planned: list[PlannedMember] | None = None
        self._described: dict[str, dict[str, Any]] = {}

    def open(self, dry_run: bool, keep: bool, say: Callable[[str], None]) -> None:
        """Refuse an account or kube context off the allow-lists before reading anything (NoAccess, SafetyRefusal)."""
        preflight(self.target, self.driver.clients)

    def close(self) -> None:
        """Nothing to bring down: zerospof does not start the AWS target."""

    def _kube_for(self, cluster: Cluster) -> KubeClients:
        if cluster.name not in self._kube:
            self._kube[cluster.name] = KubeClients(cluster.context, self.target.allowed_contexts, cluster.kubeconfig)
        return self._kube[cluster.name]

    def planned(self) -> list[PlannedMember]:
        """Every member and its fault, read once."""
        if self._planned is None:
            self._planned = aws_members(self.target, self.driver.clients, self._kube_for,
                                        runner_subnet_ids(self.target))
        return self._planned

    def members(self) -> list[Member]:
        return [planned.member for planned in self.planned()]

    def describe(self, member: Member) -> dict[str, Any]:
        """What the sweep would do to ``member``: its fault and, dry-run, every change it would make (``calls``:
        service, operation, parameters; reads go to the APIs, changes are recorded, not sent), or why it would be
        refused."""
        if member.name not in self._described:
            planned = next(p for p in self.planned() if p.member.name == member.name)
            self._described[member.name] = {**planned.describe(), **self._dry_run(planned.fault)}
        return self._described[member.name]

    def _dry_run(self, fault: Fault | None) -> dict[str, Any]:
        if fault is None:
            return {}
        recorder = CallRecorder()
        rebuilt = bind_dry(type(fault)(fault.params), self.driver.clients.dry(recorder))
        try:
            rebuilt.prepare()
            rebuilt.inject()
            rebuilt.revert()
        except ZerospofError as exc:
            return {"calls": [asdict(call) for call in recorder.calls], "refused": f"{type(exc).__name__}: {exc}"}
        return {"calls": [asdict(call) for call in recorder.calls]}

    def audit(self) -> Audit:
        return audit_aws(self.target, self.driver.clients, self._kube_for)

    def sweep_target(self) -> SweepTarget:
        from zerospof.chaos.control import wait_ready

        faults = {p.member.name: p.fault for p in self.planned()}

        def fault(member: Member) -> Any:
            found = faults[member.name]
            assert found is not None, f"{member.name} is not exercised: the sweep does not fail it"
            return found

        return SweepTarget(members=self.members, fault=fault, users=self.driver.user_plan,
                           ready=lambda: wait_ready(self.driver, self.ready_timeout_s),
                           restore=lambda: self.driver.restore() and self.driver.healthy() and self.workloads_full())

    def workloads_full(self) -> bool:
        """Every declared Deployment has all its replicas ready on its current revision (after a pod kill the next
        member must not start before the replacement runs, or a redundant Deployment would look like a SPOF)."""
        inventory = self.target.inventory
        if inventory.cluster is None or not inventory.deployments:
            return True
        apps = self._kube_for(self.target.cluster(inventory.cluster)).apps
        for namespace, name in inventory.deployments:
            found = apps.read_namespaced_deployment(name, namespace)
            wanted, status = found.spec.replicas or 0, found.status
            if (status.observed_generation or 0) < (found.metadata.generation or 0):  # as kubectl rollout status
                return False  # the controller has not seen the latest spec yet
            if (status.ready_replicas or 0) < wanted or (status.updated_replicas or 0) < wanted \
                    or (status.replicas or 0) > wanted:
                return False
        return True
