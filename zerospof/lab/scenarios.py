"""Each scenario's plan on the lab: its fault, detection and layer signals, canaries and recovery view.

One class per scenario (:data:`LAB_SCENARIOS`); :class:`zerospof.lab.driver.LabDriver` only picks
one. Detection signals are the components' own views, read from the host:

- zone loss (``az-failure``, ``region-failure``): ``signal:dns-health-check`` (a DNS provider stopped
  answering a lost zone's LB node, or answers only with the DR region), ``signal:lb-health-check``
  (AZ loss: an HAProxy node marked a lost zone's app server DOWN) and ``signal:patroni-failover``
  (Patroni's leader moved out of the lost zones), and for an AZ loss ``signal:node-not-ready`` (the node
  lifecycle controller marked the AZ's Node not Ready);
- ``control-plane``: ``signal:etcd-leader``, ``signal:scheduler-lease`` and ``signal:controller-manager-lease``
  (a new holder of the Lease in ``kube-system``), ``signal:api-lb-health-check``, with API writes (a ConfigMap
  update) through the API LB (``control-plane-api``) as the layer's own recovery;
- ``gitops``: ``signal:reconciler-lease``, the served revision and the git push RPO canary.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from zerospof.errors import LabError
from zerospof.faults import Fault
from zerospof.lab import signals
from zerospof.lab import topology as t
from zerospof.lab.controlplane import layout as cp_layout
from zerospof.lab.controlplane import probes as cp_probes
from zerospof.lab.controlplane.faults import ControlPlaneFailure
from zerospof.lab.controlplane.processes import DEFAULT_FACTORY
from zerospof.lab.faults import AzLoss, RegionLoss
from zerospof.lab.gitops import probes as gitops_probes
from zerospof.lab.gitops.faults import GitOpsFailure
from zerospof.scenario import CONTROL_PLANE_API, SERVED_REVISION, WRITE_CANARY, WRITES, Layer

__all__ = ["LAB_SCENARIOS", "LabScenario", "dns_signal", "lab_scenario", "lb_signal", "patroni_signal",
           "security_signal"]

Reader = Callable[[], Any]
Canaries = tuple[dict[str, tuple[Reader, float, int]], list[Callable[[], None]], str]
SECURITY_REPLICA = "security-replica"  # region loss: the surviving replicas' credentials
GIT_CANARY_INTERVAL_S = 0.5  # one RPO canary push every 0.5 s: the GitOps RPO's resolution
REVISION_INTERVAL_S = 0.2
API_WRITE_INTERVAL_S = 0.25


class LabScenario:
    """A scenario's plan on the lab; ``options`` are the fault's, over ``DEFAULTS``."""

    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def __init__(self, state_dir: Path, options: dict[str, Any] | None = None) -> None:
        self.state_dir = state_dir
        self.options = {**self.DEFAULTS, **(options or {})}

    def fault(self) -> Fault:
        """Build (do not apply) the fault."""
        raise NotImplementedError

    def signals(self) -> dict[str, Reader]:
        """Detection-signal probe name -> reader (value ``{"detected": bool, ...}``)."""
        raise NotImplementedError

    def layer_signals(self) -> dict[Layer, tuple[str, str]]:
        """Layer -> (signal probe, key true once the layer recovered), where the lab reads one."""
        return {}

    def canaries(self, run_id: str) -> Canaries:
        """Further samplers, their stop hooks, and the probe the RPO is read from (the users' writes)."""
        return {}, [], WRITES

    def recovered(self) -> bool:
        """Whether the lab's own view says failover finished (users being served is checked apart)."""
        raise NotImplementedError

    @property
    def _processes(self) -> dict[str, Any]:
        return {"factory": DEFAULT_FACTORY, "state_dir": str(self.state_dir)}


class _ZoneLoss(LabScenario):
    """Lose zones by cutting their links (``mode: power`` also kills their processes)."""

    FAULT: ClassVar[type[Fault]]
    BY_REGION: ClassVar[bool]  # DNS has failed over when it answers only with the other region
    LB_SIGNAL: ClassVar[bool]  # the surviving LB nodes of the region mark the lost zone's app down

    def lost_zones(self) -> list[str]:
        raise NotImplementedError

    def fault(self) -> Fault:
        return self.FAULT({**self.options, "state_dir": str(self.state_dir)})

    def signals(self) -> dict[str, Reader]:
        lost = self.lost_zones()
        found = {"signal:dns-health-check": dns_signal(lost, by_region=self.BY_REGION)}
        if self.LB_SIGNAL:
            found["signal:lb-health-check"] = lb_signal(lost, self.state_dir)
        if any(zone in t.PG_ZONES for zone in lost):
            found["signal:patroni-failover"] = patroni_signal(lost)
        if not self.BY_REGION:  # a region loss takes the whole control plane (region 1's) or no Node of region 1
            found["signal:node-not-ready"] = cp_probes.nodes_not_ready_signal(self.state_dir, lost)
        return found

    def canaries(self, run_id: str) -> Canaries:
        """Region loss: which key/secret service each surviving app replica last decrypted with, and when
        (not a detection signal: the replicas refresh all the time; the security layer's RTO is when every
        survivor has decrypted again after t0)."""
        if not self.BY_REGION:
            return {}, [], WRITES
        return {SECURITY_REPLICA: (security_signal(self.lost_zones()), 0.5, 1)}, [], WRITES

    def layer_signals(self) -> dict[Layer, tuple[str, str]]:
        found = {Layer.DNS: ("signal:dns-health-check", "all_failed_over")}
        if self.LB_SIGNAL:
            found[Layer.LOAD_BALANCERS] = ("signal:lb-health-check", "all_out")
        if self.BY_REGION:
            found[Layer.SECURITY] = (SECURITY_REPLICA, "refreshed_at")
        return found

    def recovered(self) -> bool:
        """Every detection signal reports the fault."""
        return all(read()["detected"] for read in self.signals().values())


class AzFailure(_ZoneLoss):
    DEFAULTS: ClassVar[dict[str, Any]] = {"region": "r1", "az": "a", "mode": "partition"}
    FAULT = AzLoss
    BY_REGION, LB_SIGNAL = False, True

    def lost_zones(self) -> list[str]:
        return [t.zone(self.options["region"], self.options["az"]).name]


class RegionFailure(_ZoneLoss):
    DEFAULTS: ClassVar[dict[str, Any]] = {"region": "r1", "mode": "partition"}
    FAULT = RegionLoss
    BY_REGION, LB_SIGNAL = True, False  # every LB node of the region is lost with it: DNS moves the users

    def lost_zones(self) -> list[str]:
        return [z.name for z in t.zones_of_region(self.options["region"])]


class ControlPlane(LabScenario):
    DEFAULTS: ClassVar[dict[str, Any]] = {"api_replica": {"component": f"cp-api-{cp_layout.CP_ZONES[0]}"}}

    def fault(self) -> Fault:
        return ControlPlaneFailure({"endpoints": cp_layout.etcd_endpoints(), "processes": self._processes,
                                    **self.options})

    def signals(self) -> dict[str, Reader]:
        replica = self.options.get("api_replica", {}).get("component", f"cp-api-{cp_layout.CP_ZONES[0]}")
        return {"signal:etcd-leader": cp_probes.etcd_leader_signal(),
                "signal:scheduler-lease": cp_probes.lease_signal(self.state_dir, "kube-scheduler"),
                "signal:controller-manager-lease": cp_probes.lease_signal(self.state_dir, "kube-controller-manager"),
                "signal:api-lb-health-check": cp_probes.api_lb_signal(self.state_dir, replica)}

    def canaries(self, run_id: str) -> Canaries:
        return {CONTROL_PLANE_API: (cp_probes.api_writer(self.state_dir), API_WRITE_INTERVAL_S, 4)}, [], WRITES

    def recovered(self) -> bool:
        """etcd has a leader and a quorum, live holders of the scheduler and controller-manager Leases, every app
        Deployment replica available, and an API write through the API LB succeeds."""
        return cp_probes.recovered(self.state_dir)["recovered"]


class GitOps(LabScenario):
    def fault(self) -> Fault:
        return GitOpsFailure({"processes": self._processes,
                              **self.options})

    def signals(self) -> dict[str, Reader]:
        return {"signal:reconciler-lease": gitops_probes.reconciler_lease_signal(self.state_dir)}

    def canaries(self, run_id: str) -> Canaries:
        """The served revision (deployment delay) and the git push canary (the GitOps RPO's)."""
        canary = gitops_probes.PushCanary(run_id)
        return ({SERVED_REVISION: (gitops_probes.served_revision, REVISION_INTERVAL_S, 1),
                 WRITE_CANARY: (canary, GIT_CANARY_INTERVAL_S, 1)}, [canary.close], WRITE_CANARY)

    def recovered(self) -> bool:
        """A reconciler holds the lease, its git host answers and every app replica serves the revision
        ``main`` asks for there (so a canary committed after the fault is deployed)."""
        return gitops_probes.recovered(self.state_dir)["recovered"]


LAB_SCENARIOS: dict[str, type[LabScenario]] = {"az-failure": AzFailure, "region-failure": RegionFailure,
                                                "control-plane": ControlPlane, "gitops": GitOps}


def lab_scenario(scenario: str, state_dir: Path, options: dict[str, Any] | None = None) -> LabScenario:
    """The lab's plan of ``scenario``; LabError for a scenario the lab does not have."""
    try:
        return LAB_SCENARIOS[scenario](state_dir, options)
    except KeyError:
        raise LabError(f"the lab has no {scenario!r} scenario; known: {', '.join(LAB_SCENARIOS)}") from None


def lb_signal(lost: list[str], state_dir: Path) -> Callable[[], dict[str, Any]]:
    """``detected``: an LB node marked a lost app server down; ``all_out``: every LB node that answers
    and balances a lost server has it out of rotation (the layer's own recovery)."""
    servers = {f"app/app-{zone}" for zone in lost}
    lost_lbs = {f"lb-{zone}" for zone in lost}

    def probe() -> dict[str, Any]:
        view = signals.haproxy_servers(state_dir, timeout_s=0.3)
        down = sorted(f"{lb}:{server}" for lb, state in view.items() if state["ok"]
                      for server, status in state["servers"].items() if server in servers and status != "UP")
        balancing = [f"{lb}:{server}" for lb, state in view.items() if state["ok"] and lb not in lost_lbs
                     for server in state["servers"] if server in servers]  # an LB node in a lost zone is lost too
        return {"detected": bool(down), "down": down, "all_out": bool(balancing) and len(down) == len(balancing)}
    return probe


def dns_signal(lost: list[str], by_region: bool) -> Callable[[], dict[str, Any]]:
    """``detected``: a DNS provider answers without the lost LB nodes (``by_region``: only with the other
    region); ``all_failed_over``: every provider does (the DNS layer's own recovery)."""
    lost_lbs = {t.place(zone).address for zone in lost if any(zone in zones for zones in t.LB_ZONES.values())}
    lost_regions = {t.place(zone).region for zone in lost}

    def probe() -> dict[str, Any]:
        answers = signals.dns_answers(timeout_s=0.3)
        if by_region:
            moved = [name for name, a in answers.items() if a["ok"] and a["regions"] and not lost_regions & set(a["regions"])]
        else:
            moved = [name for name, a in answers.items() if a["ok"] and a["addresses"] and not lost_lbs & set(a["addresses"])]
        return {"detected": bool(moved), "servers_failed_over": moved, "all_failed_over": len(moved) == len(answers),
                "answers": {name: a.get("addresses") for name, a in answers.items()}}
    return probe


def patroni_signal(lost: list[str]) -> Callable[[], dict[str, Any]]:
    lost_members = {f"pg-{zone}" for zone in lost}

    def probe() -> dict[str, Any]:
        leader = signals.patroni_leader(timeout_s=0.3)
        moved = leader["leader"] is not None and leader["leader"] not in lost_members
        return {"detected": moved, "leader": leader["leader"], "timeline": leader["timeline"]}
    return probe


def security_signal(lost: list[str]) -> Callable[[], dict[str, Any]]:
    """Each surviving app replica's credential: valid or not, which region's service gave it, and when
    (``refreshed_at``, epoch seconds; None while it holds no valid credential)."""
    import json
    import urllib.request

    survivors = [z for z in t.ZONES if z.name not in lost]

    def probe() -> dict[str, Any]:
        views = {}
        for zone in survivors:
            try:
                with urllib.request.urlopen(f"http://{zone.address}:{t.APP_PORT}/health", timeout=0.3) as answer:
                    views[zone.name] = json.loads(answer.read()).get("security") or {}
            except (OSError, ValueError):
                views[zone.name] = {}
        return {"refreshed_at": {name: view.get("refreshed_at") if view.get("valid") else None
                                 for name, view in views.items()},
                "regions": {name: view.get("region") for name, view in views.items()}}
    return probe
