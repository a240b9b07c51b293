"""The lab's side of a scenario (see :class:`zerospof.scenario.Driver`).

Users are simulated from the ``zs-client`` namespace through the lab's real DNS servers and
HAProxy nodes (``availability``, every scenario: workloads must keep serving). Detection signals
are the components' own views, read from the host:

- ``signal:lb-health-check``: an HAProxy node has marked an app server of a lost zone DOWN;
- ``signal:dns-health-check``: a DNS server stopped answering a lost zone's LB node
  (AZ loss) or answers only with the DR region (region loss);
- ``signal:patroni-failover``: Patroni's leader moved out of the lost region;
- ``control-plane``: ``signal:etcd-leader`` (a leader in a new raft term), ``signal:scheduler-lease``
  (the standby took the lease), ``signal:api-lb-health-check`` (the API LB marked the killed replica
  DOWN); the ``control-plane-api`` sampler writes through the API LB (shown, not judged);
- ``gitops``: ``signal:reconciler-lease`` (another reconciler took the GitOps lease).

GitOps canaries push where the platform's users push: to the primary git host, else to the mirror
(the backup provider, which accepts pushes while the primary is out; its sync loop carries them back
afterwards). :meth:`LabDriver.commit_canary` pushes a new desired revision after the fault is in
effect, so it lands on the mirror, and deployment delay counts from that acknowledged push to the
moment every app replica serves it (``served-revision``). GitOps RPO: the ``write-canary`` sampler
pushes a sequenced commit every 0.5 s the same way; :meth:`LabDriver.read_back` lists which of them
the git host the leading reconciler reads now has, so a push acknowledged by the primary host but not
yet mirrored when the primary became unreachable counts as lost.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zerospof.errors import LabError, TargetDown
from zerospof.faults import Fault
from zerospof.lab import client, signals
from zerospof.lab import topology as t
from zerospof.lab.controlplane import layout as cp_layout
from zerospof.lab.controlplane import probes as cp_probes
from zerospof.lab.controlplane.faults import ControlPlaneFailure
from zerospof.lab.controlplane.processes import DEFAULT_FACTORY
from zerospof.lab.faults import AzLoss, RegionLoss
from zerospof.lab.gitops import layout as gitops_layout
from zerospof.lab.gitops import probes as gitops_probes
from zerospof.lab.gitops.faults import GitOpsFailure
from zerospof.lab.gitops.reconciler import LEASE_TTL_S
from zerospof.lab.gitops.signals import reconciler_holder
from zerospof.lab.lab import Lab
from zerospof.monitors import ProbeFailed
from zerospof.scenario import (CONTROL_PLANE_API, SERVED_REVISION, WRITE_CANARY, WRITES, Layer, Plan,
                               PlannedDriver)

__all__ = ["LabDriver", "DEFAULT_FAULTS"]

DEFAULT_FAULTS: dict[str, dict[str, Any]] = {
    "az-failure": {"region": "r1", "az": "a", "mode": "partition"},
    "region-failure": {"region": "r1", "mode": "partition"},
    "control-plane": {"api_replica": {"component": f"cp-api-{cp_layout.CP_ZONES[0]}"}},
    "gitops": {},
}
ZONE_SCENARIOS = ("az-failure", "region-failure")
MAX_OBSERVATION_S = 15 * 60  # every sampler stops by itself after this
SIGNAL_INTERVAL_S = 0.1
GIT_CANARY_INTERVAL_S = 0.5  # one RPO canary push every 0.5 s: the GitOps RPO's resolution
REVISION_INTERVAL_S = 0.2
API_WRITE_INTERVAL_S = 0.25
CANARY_PREFIX = "canary"
USER_CONCURRENCY = 64  # open-loop users: slow answers (up to the client's 3 s timeout) must not lower the rate
PRIMARY_SIDE_RECONCILERS = tuple(name for name in gitops_layout.RECONCILERS if gitops_layout.reader_of(name) == "primary")


def _merged(scenario: str, options: dict[str, Any] | None) -> dict[str, Any]:
    if scenario not in DEFAULT_FAULTS:
        raise LabError(f"the lab has no {scenario!r} scenario; known: {', '.join(DEFAULT_FAULTS)}")
    return {**DEFAULT_FAULTS[scenario], **(options or {})}


def _lost_zones(scenario: str, options: dict[str, Any]) -> list[str]:
    merged = _merged(scenario, options)
    if scenario == "az-failure":
        return [t.zone(merged["region"], merged["az"]).name]
    if scenario == "region-failure":
        return [z.name for z in t.zones_of_region(merged["region"])]
    raise LabError(f"the lab has no {scenario!r} scenario yet")


def read_app() -> dict[str, Any]:
    """One user read through DNS + LB from the client namespace; raise on any failure."""
    try:
        response = client.request("GET", "/read")
    except client.ClientError as exc:
        raise ProbeFailed(str(exc)) from exc
    if not response.ok:
        raise ProbeFailed(f"HTTP {response.status} from {response.address}")
    return {"status": response.status, "zone": (response.body or {}).get("zone"), "lb": response.address,
            "dns": response.dns_server, "latency_s": round(response.elapsed_s, 4)}


def _user_writes(run_id: str) -> Callable[[], dict[str, Any]]:
    """The write path: one user write through DNS + LB to the app and the database primary.

    Each write is sequenced and tagged with ``run_id``, so the same traffic is the RPO canary:
    an acknowledged write is remembered and read back from the new primary after failover.
    """
    sequence = iter(range(10**9))

    def write() -> dict[str, Any]:
        seq = next(sequence)
        try:
            response = client.request("POST", "/write", {"key": f"{CANARY_PREFIX}:{run_id}:{seq}", "value": str(seq)})
        except client.ClientError as exc:
            raise ProbeFailed(f"seq {seq}: {exc}") from exc
        if not response.ok:
            raise ProbeFailed(f"seq {seq}: HTTP {response.status}")
        return {"seq": seq, "zone": (response.body or {}).get("zone"), "acked_mono": time.monotonic()}
    return write


def _lb_signal(lost: list[str], state_dir: Path) -> Callable[[], dict[str, Any]]:
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


def _dns_signal(scenario: str, lost: list[str]) -> Callable[[], dict[str, Any]]:
    lost_lbs = {t.place(zone).address for zone in lost if any(zone in zones for zones in t.LB_ZONES.values())}
    lost_regions = {t.place(zone).region for zone in lost}

    def probe() -> dict[str, Any]:
        answers = signals.dns_answers(timeout_s=0.3)
        if scenario == "region-failure":
            moved = [name for name, a in answers.items() if a["ok"] and a["regions"] and not lost_regions & set(a["regions"])]
        else:
            moved = [name for name, a in answers.items() if a["ok"] and a["addresses"] and not lost_lbs & set(a["addresses"])]
        return {"detected": bool(moved), "servers_failed_over": moved, "all_failed_over": len(moved) == len(answers),
                "answers": {name: a.get("addresses") for name, a in answers.items()}}
    return probe


def _patroni_signal(lost: list[str]) -> Callable[[], dict[str, Any]]:
    lost_members = {f"pg-{zone}" for zone in lost}

    def probe() -> dict[str, Any]:
        leader = signals.patroni_leader(timeout_s=0.3)
        moved = leader["leader"] is not None and leader["leader"] not in lost_members
        return {"detected": moved, "leader": leader["leader"], "timeline": leader["timeline"]}
    return probe


class LabDriver(PlannedDriver):
    """Scenarios on the embedded lab (``zerospof lab up`` first, or let ``zerospof run`` do it)."""

    def __init__(self, lab: Lab | None = None) -> None:
        self.lab = lab or Lab()

    def check_ready(self) -> None:
        status = self.lab.status()
        if not status["supervisor"]:
            raise TargetDown("the lab is not running: run 'zerospof lab up'")
        sick = [name for name, state in status["components"].items() if not state["healthy"]]
        if sick:
            raise LabError(f"lab components not healthy: {', '.join(sick)}")

    def serving(self) -> bool:
        for _ in range(3):
            try:
                read_app()
            except ProbeFailed:
                return False
        return True

    def restore(self) -> bool:
        """Bring the lab back to its reference state; True once it is there. Idempotent.

        Reference state: the database primary in its reference place (failover does not fail back
        by itself: a Patroni switchover) and a reconciler that reads the primary git host holding
        the GitOps lease (after a GitOps or region failure the backup keeps it: it is asked to stop
        with SIGTERM, so it resigns at once, and is started again as a standby). Scenarios start
        from this state, so the next region failure really loses the primary and the next GitOps
        failure really loses the primary-side reconciler and git host.
        """
        database = self._restore_database()
        gitops = self._restore_gitops()
        return database and gitops

    def _restore_database(self) -> bool:
        leader = signals.patroni_leader(timeout_s=1.0)
        reference = f"pg-{t.PG_INITIAL_PRIMARY}"
        if leader["leader"] == reference:
            return True
        if leader["leader"] is None or leader["members"].get(reference, {}).get("state") not in ("streaming", "running"):
            return False
        address = t.place(leader["leader"].removeprefix("pg-")).address
        body = json.dumps({"leader": leader["leader"], "candidate": reference}).encode()
        request = urllib.request.Request(f"http://{address}:{t.PATRONI_PORT}/switchover", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except (OSError, urllib.error.URLError):
            return False
        return False

    def _restore_gitops(self) -> bool:
        holder = reconciler_holder(gitops_layout.etcd_endpoints(), timeout_s=1.0)
        if not holder["ok"]:
            return False
        try:
            states = self.lab.supervisor.status()
            if holder["holder"] in PRIMARY_SIDE_RECONCILERS:
                # a key may still name a reconciler killed and restarted within the TTL: its old life's lease
                uptime = states.get(holder["holder"], {}).get("uptime_s")
                return uptime is not None and uptime > LEASE_TTL_S
            ready = [name for name in PRIMARY_SIDE_RECONCILERS if states.get(name, {}).get("running")]
            if holder["holder"] is None or not ready or not self.healthy():
                return False  # a primary-side reconciler takes a vacant lease by itself; or not healed yet
            self.lab.supervisor.terminate([holder["holder"]], timeout_s=5.0)
            self.lab.supervisor.start([holder["holder"]])
        except LabError:
            return False
        return False

    def fault(self, scenario: str, options: dict[str, Any]) -> Fault:
        merged = _merged(scenario, options)
        processes = {"factory": DEFAULT_FACTORY, "state_dir": str(self.lab.state_dir)}
        if scenario == "az-failure":
            return AzLoss({**merged, "state_dir": str(self.lab.state_dir)})
        if scenario == "region-failure":
            return RegionLoss({**merged, "state_dir": str(self.lab.state_dir)})
        if scenario == "control-plane":
            return ControlPlaneFailure({"endpoints": cp_layout.etcd_endpoints(), "processes": processes, **merged})
        return GitOpsFailure({"endpoints": gitops_layout.etcd_endpoints(), "processes": processes, **merged})

    def _signals(self, scenario: str, options: dict[str, Any] | None) -> dict[str, Callable[[], dict[str, Any]]]:
        if scenario == "control-plane":
            default = f"cp-api-{cp_layout.CP_ZONES[0]}"
            replica = _merged(scenario, options).get("api_replica", {}).get("component", default)
            return {"signal:etcd-leader": cp_probes.etcd_leader_signal(),
                    "signal:scheduler-lease": cp_probes.scheduler_lease_signal(),
                    "signal:api-lb-health-check": cp_probes.api_lb_signal(Path(self.lab.state_dir), replica)}
        if scenario == "gitops":
            _merged(scenario, options)
            return {"signal:reconciler-lease": gitops_probes.reconciler_lease_signal()}
        lost = _lost_zones(scenario, options or {})
        found = {"signal:dns-health-check": _dns_signal(scenario, lost)}
        if scenario == "az-failure":
            found["signal:lb-health-check"] = _lb_signal(lost, Path(self.lab.state_dir))
        if scenario == "region-failure" or any(zone in t.PG_ZONES for zone in lost):
            found["signal:patroni-failover"] = _patroni_signal(lost)
        return found

    def plan(self, scenario: str, run_id: str, options: dict[str, Any] | None = None) -> Plan:
        """Users read and write from ``zs-client`` through DNS + LB; each scenario's own signals and canaries."""
        probes = self._signals(scenario, options)
        extra: dict[str, tuple[Callable[[], Any], float, int]] = {}
        stop_hooks: list[Callable[[], None]] = []
        rpo_probe = WRITES
        if scenario == "control-plane":
            extra[CONTROL_PLANE_API] = (cp_probes.api_write, API_WRITE_INTERVAL_S, 4)
        if scenario == "gitops":
            extra[SERVED_REVISION] = (gitops_probes.served_revision, REVISION_INTERVAL_S, 1)
            canary = gitops_probes.PushCanary(run_id)
            stop_hooks.append(canary.close)
            extra[WRITE_CANARY] = (canary, GIT_CANARY_INTERVAL_S, 1)
            rpo_probe = WRITE_CANARY
        layer_signals = {}
        if "signal:lb-health-check" in probes:
            layer_signals[Layer.LOAD_BALANCERS] = ("signal:lb-health-check", "all_out")
        if "signal:dns-health-check" in probes:
            layer_signals[Layer.DNS] = ("signal:dns-health-check", "all_failed_over")
        return Plan(paths={"reads": read_app, "writes": _user_writes(run_id)}, signals=probes,
                    signal_interval_s=SIGNAL_INTERVAL_S, max_observation_s=MAX_OBSERVATION_S,
                    layer_signals=layer_signals, extra=extra, rpo_probe=rpo_probe,
                    path_concurrency=USER_CONCURRENCY, stop_hooks=stop_hooks)

    def recovered(self, scenario: str, options: dict[str, Any] | None = None, baseline: Any = None) -> bool:
        """Return whether the lab's own view says failover finished.

        AZ and region failure: every detection signal reports the fault and users are served.
        Control plane: etcd has a leader and a quorum, a scheduler holds the lease, an API write
        through the API LB succeeds, and users are served. GitOps: a reconciler holds the lease, its
        git host answers and every app replica serves the revision ``main`` asks for there (so a
        canary committed after the fault is deployed), and users are served.
        """
        if scenario == "control-plane":
            return cp_probes.recovered()["recovered"] and self.serving()
        if scenario == "gitops":
            return gitops_probes.recovered(Path(self.lab.state_dir))["recovered"] and self.serving()
        views = [probe() for probe in self._signals(scenario, options).values()]
        return all(view["detected"] for view in views) and self.serving()

    def read_back(self, run_id: str) -> list[int]:
        """Return the sequence numbers of the run's canary writes present where the platform reads now.

        GitOps runs: the RPO canary pushes on the git host the leading reconciler reads (the mirror
        while the primary host is out). Other runs: the database canary rows on Patroni's current
        primary. A run writes only one of the two kinds, so the first that has any is the run's.
        """
        host = gitops_probes.current_source() or "primary"
        try:
            pushed = gitops_probes.canary_seqs(host, run_id)
        except LabError:
            pushed = []
        return pushed or self._read_back_database(run_id)

    def _read_back_database(self, run_id: str) -> list[int]:
        import psycopg

        leader = signals.patroni_leader(timeout_s=1.0)
        if leader["leader"] is None:
            raise LabError("no PostgreSQL primary to read the canary back from")
        address = t.place(leader["leader"].removeprefix("pg-")).address
        with psycopg.connect(host=address, port=t.PG_PORT, user="postgres", dbname="postgres",
                             connect_timeout=3) as connection:
            rows = connection.execute("SELECT key FROM zs_kv WHERE key LIKE %s",
                                      (f"{CANARY_PREFIX}:{run_id}:%",)).fetchall()
        return sorted(int(key.rsplit(":", 1)[1]) for (key,) in rows)

    def commit_canary(self, run_id: str) -> str:
        """Commit a new desired revision where users push (the primary git host, else the mirror); return it.

        In the ``gitops`` scenario this runs after the fault is in effect, so the primary host does
        not answer (within 1 s) and the push goes to the mirror, the backup provider: deployment
        delay counts from that acknowledged push. Not idempotent: every call adds a commit.
        """
        revision, _host = gitops_probes.commit_canary(run_id)
        return revision
