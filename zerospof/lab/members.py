"""The lab's redundant members for the SPOF sweep, named as ``zerospof lab status`` names them.

Each component the supervisor runs is a member of one checklist layer of the seed (network: the
LB nodes; compute: the app replicas and the node agents keeping each AZ's Node alive; control: control-plane etcd,
kube-apiservers, kube-schedulers, kube-controller-managers; data:
PostgreSQL + Patroni members and their etcd DCS; DNS: the two providers; CI/CD: the git hosts and
the mirror sync; GitOps: the reconcilers; security: the key/secret service of each region). Failing a member is a SIGKILL through the supervisor
(:class:`MemberKill`, recorded in the ledger first); revert starts it again.

Each member's **layer check** (:func:`layer_check`) reads, from the components' own views, that the
survivors carry the layer's job: DNS answering without a lost LB node, every LB node having a lost
app replica out of rotation, a live kube-scheduler / kube-controller-manager / reconciler holding its lease,
etcd with a leader and an API write through the API LB, a lost node agent's Node marked not Ready by the node
lifecycle controller (every other Node Ready), Patroni with a live leader, the other DNS provider answering, the
reconciler delivering ``main`` from its git host, every app of a region decrypting again after its
region's key service was lost.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from zerospof.errors import TargetDown
from zerospof.faults import Fault
from zerospof.lab import configs
from zerospof.lab.controlplane.faults import ComponentKill
from zerospof.lab.controlplane.processes import DEFAULT_FACTORY
from zerospof.lab.driver import LabDriver
from zerospof.lab.lab import Lab
from zerospof.lab import signals
from zerospof.lab import topology as t
from zerospof.lab.controlplane import layout as cp_layout
from zerospof.lab.controlplane import probes as cp_probes
from zerospof.lab.gitops import probes as gitops_probes
from zerospof.lab.gitops.signals import reconciler_holder
from zerospof.lab.scenarios import dns_signal, security_signal
from zerospof.spof import LayerCheck, Member, SweepTarget

__all__ = ["KIND_LAYERS", "MemberKill", "lab_members", "lab_sweep_target", "layer_check"]

KIND_LAYERS = {  # supervisor component kind -> the seed's checklist layer
    "lb": "network",
    "app": "compute", "kube-node": "compute",
    "cp-etcd": "control", "cp-api": "control", "cp-scheduler": "control", "cp-cm": "control",
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
                       restore=lambda: driver.restore() and driver.healthy(),
                       layer_check=lambda member: layer_check(member, driver.lab.state_dir))


def _out_of_rotation(state_dir: Path, server: str) -> dict[str, Any]:
    """Every HAProxy node that answers and balances ``server`` (``backend/name``) has it out of rotation."""
    view = signals.haproxy_servers(state_dir, timeout_s=0.3)
    balancing = {lb: state["servers"][server] for lb, state in view.items() if state["ok"] and server in state["servers"]}
    still_in = sorted(lb for lb, status in balancing.items() if status == "UP")
    return {"ok": bool(balancing) and not still_in, "balancing": sorted(balancing), "still_in_rotation": still_in}


def _other_holder(holder: str | None, member: str) -> dict[str, Any]:
    return {"ok": holder is not None and holder != member, "holder": holder}


def layer_check(member: Member, state_dir: Path) -> LayerCheck:
    """What tells that ``member``'s layer does its job without it (built right after it was failed)."""
    name, kind, zone = member.name, member.kind, member.place
    if kind == "lb":
        dns = dns_signal([zone], by_region=False)
        return LayerCheck(f"every DNS provider answers without {name}",
                          lambda: {**(view := dns()), "ok": view["all_failed_over"]})
    if kind == "app":
        return LayerCheck(f"every LB node has {name} out of rotation",
                          lambda: _out_of_rotation(state_dir, f"app/{name}"))
    if kind == "cp-api":
        def api() -> dict[str, Any]:
            out, control = _out_of_rotation(state_dir, f"api/{name}"), cp_probes.recovered(state_dir)
            return {**control, "lb": out, "ok": out["ok"] and control["recovered"]}
        return LayerCheck(f"every API LB node has {name} out of rotation and the control plane serves", api)
    if kind == "cp-etcd":
        return LayerCheck("etcd has a leader and a quorum, the Leases are held, the app's pods are available, "
                          "an API write through the LB works",
                          lambda: {**(view := cp_probes.recovered(state_dir)), "ok": view["recovered"]})
    if kind in ("cp-scheduler", "cp-cm"):
        lease = "kube-scheduler" if kind == "cp-scheduler" else "kube-controller-manager"

        def holder() -> dict[str, Any]:
            view = cp_probes.recovered(state_dir)
            return {**view, "ok": view["recovered"] and view[lease] != name}
        return LayerCheck(f"a {lease} other than {name} holds the Lease and the control plane serves", holder)
    if kind == "kube-node":
        lost = cp_layout.node_name(zone or "")

        def node_lifecycle() -> dict[str, Any]:
            ready = cp_probes.nodes_ready(state_dir)
            others = {node: is_ready for node, is_ready in ready.items() if node != lost}
            return {"ok": ready.get(lost) is False and len(others) == len(t.ZONES) - 1 and all(others.values()),
                    "nodes_ready": ready}
        return LayerCheck(f"the node lifecycle controller marked {lost} not Ready (its Lease unrenewed for "
                          f"{cp_layout.NODE_GRACE_S} s) and every other Node is Ready", node_lifecycle)
    if kind == "etcd":
        return LayerCheck("Patroni has a leader (its DCS keeps the leader key)",
                          lambda: {**(view := signals.patroni_leader(timeout_s=0.3)), "ok": view["leader"] is not None})
    if kind == "pg":
        return LayerCheck(f"Patroni has a leader other than {name}",
                          lambda: _other_holder(signals.patroni_leader(timeout_s=0.3)["leader"], name))
    if kind == "dns":
        def other_provider() -> dict[str, Any]:
            answers = {server: answer for server, answer in signals.dns_answers(timeout_s=0.3).items() if server != name}
            return {"ok": any(a["ok"] and a["addresses"] for a in answers.values()), "answers": answers}
        return LayerCheck(f"a DNS provider other than {name} answers with the app's addresses", other_provider)
    if kind == "gitops":
        api = cp_probes.admin_api(state_dir, timeout_s=0.3)

        def reconciler() -> dict[str, Any]:
            holder = reconciler_holder(api)["holder"]
            view = gitops_probes.recovered(state_dir)
            return {**view, "holder": holder, "ok": view["recovered"] and holder != name}
        return LayerCheck(f"a reconciler other than {name} holds the Lease and every app serves its git host's main",
                          reconciler)
    if kind == "git":
        return LayerCheck("the reconciler holding the lease reads its git host and every app serves that main",
                          lambda: {**(view := gitops_probes.recovered(state_dir)), "ok": view["recovered"]})
    if kind == "security":
        region = name.removeprefix("sec-")
        zones = [z.name for z in t.zones_of_region(region)]
        read, since = security_signal([]), time.time()

        def decrypting() -> dict[str, Any]:
            view = read()
            fresh = {z: at is not None and at > since for z, at in view["refreshed_at"].items() if z in zones}
            return {"ok": all(fresh.values()) and bool(fresh), "decrypted_again": fresh,
                    "from": {z: view["regions"].get(z) for z in zones}}
        return LayerCheck(f"every app replica of {region} decrypted its credential again after {name} was lost",
                          decrypting)
    raise ValueError(f"no layer check for a member of kind {kind!r}")


def describe(member: Member) -> dict[str, Any]:
    """What the sweep would do to ``member`` (for ``--dry-run``)."""
    return {"member": member.name, "layer": member.layer, "kind": member.kind, "place": member.place,
            "fault": f"SIGKILL {member.name} through the lab supervisor; revert starts it again"}
