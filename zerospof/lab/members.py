"""The lab's redundant members for the SPOF sweep, named as ``zerospof lab status`` names them.

Each component the supervisor runs is a member of one checklist layer of the seed (network: the
LB nodes; compute: the app replicas; control: control-plane etcd, API replicas, schedulers; data:
PostgreSQL + Patroni members and their etcd DCS; DNS: the two providers; CI/CD: the git hosts and
the mirror sync; GitOps: the reconcilers; security: the key/secret service of each region). Failing a member is a SIGKILL through the supervisor
(:class:`MemberKill`, recorded in the ledger first); revert starts it again.
"""

from __future__ import annotations

from typing import Any

from zerospof.errors import TargetDown
from zerospof.faults import Fault
from zerospof.lab import configs
from zerospof.lab.controlplane.faults import ComponentKill
from zerospof.lab.controlplane.processes import DEFAULT_FACTORY
from zerospof.lab.driver import LabDriver
from zerospof.lab.lab import Lab
from zerospof.spof import Member, SweepTarget

__all__ = ["KIND_LAYERS", "MemberKill", "lab_members", "lab_sweep_target"]

KIND_LAYERS = {  # supervisor component kind -> the seed's checklist layer
    "lb": "network",
    "app": "compute",
    "cp-etcd": "control", "cp-api": "control", "cp-scheduler": "control",
    "pg": "data", "etcd": "data",
    "dns": "dns",
    "git": "cicd",
    "gitops": "gitops",
    "security": "security",
}
LAYER_ORDER = ("network", "compute", "control", "data", "dns", "cicd", "gitops", "security")


class MemberKill(ComponentKill):
    """SIGKILL one lab component (params: ``component``, ``processes``); revert starts it again. Idempotent."""

    kind = "member-kill"

    def choose(self) -> list[str]:
        return [str(self.params["component"])]


def _place(name: str) -> str | None:
    parts = name.split("-")
    return "-".join(parts[-2:]) if len(parts) >= 3 and parts[-2] in ("r1", "r2") else None


def lab_members(lab: Lab) -> list[Member]:
    """Every component the running lab has, by checklist layer (in the seed's order)."""
    status = lab.status()
    if not status["supervisor"]:
        raise TargetDown("the lab is not running: run 'zerospof lab up'")
    running = set(status["components"])
    found = [Member(name, KIND_LAYERS[kind], kind, _place(name))
             for kind in KIND_LAYERS for name in configs.component_names(kind) if name in running]
    return sorted(found, key=lambda m: (LAYER_ORDER.index(m.layer), m.name))


def lab_sweep_target(lab: Lab | None = None, ready_timeout_s: float = 120.0) -> SweepTarget:
    """The lab as a sweep target: its members, a kill per member, users reading and writing, readiness."""
    from zerospof.chaos.control import wait_ready

    driver = LabDriver(lab)
    state_dir = str(driver.lab.state_dir)

    def fault(member: Member) -> Fault:
        return MemberKill({"component": member.name,
                           "processes": {"factory": DEFAULT_FACTORY, "state_dir": state_dir}})

    return SweepTarget(members=lambda: lab_members(driver.lab), fault=fault, users=driver.user_plan,
                       ready=lambda: wait_ready(driver, ready_timeout_s),
                       restore=lambda: driver.restore() and driver.healthy())


def describe(member: Member) -> dict[str, Any]:
    """What the sweep would do to ``member`` (for ``--dry-run``)."""
    return {"member": member.name, "layer": member.layer, "kind": member.kind, "place": member.place,
            "fault": f"SIGKILL {member.name} through the lab supervisor; revert starts it again"}
