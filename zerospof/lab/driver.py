"""The lab's side of a scenario (see :class:`zerospof.scenario.Driver`).

Users are simulated from the ``zs-client`` namespace through the lab's real DNS servers and
HAProxy nodes: they read (``availability``) and write (``writes``: through the app to the database
primary; sequenced, so the same traffic is the RPO canary) in every scenario. Each scenario's fault,
signals and canaries are its plan in :mod:`zerospof.lab.scenarios`.

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
from zerospof.lab.controlplane.probes import admin_api
from zerospof.lab.gitops import layout as gitops_layout
from zerospof.lab.gitops import probes as gitops_probes
from zerospof.lab.gitops.reconciler import LEASE_DURATION_S
from zerospof.lab.gitops.signals import reconciler_holder
from zerospof.lab.lab import Lab
from zerospof.lab.scenarios import LabScenario, lab_scenario
from zerospof.monitors import ProbeFailed
from zerospof.scenario import Plan, PlannedDriver

__all__ = ["LabDriver", "read_app"]

SIGNAL_INTERVAL_S = 0.1
CANARY_PREFIX = "canary"
USER_CONCURRENCY = 64  # open-loop users: slow answers (up to the client's 3 s timeout) must not lower the rate
PRIMARY_SIDE_RECONCILERS = tuple(name for name in gitops_layout.RECONCILERS if gitops_layout.reader_of(name) == "primary")


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


def _writes_served() -> bool:
    """One user write through DNS + LB succeeds now (failover is not finished while users cannot write)."""
    try:
        return client.request("POST", "/write", {"key": "zerospof:recovery-check", "value": "1"}).ok
    except client.ClientError:
        return False


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
        holder = reconciler_holder(admin_api(Path(self.lab.state_dir), 1.0))
        if not holder["ok"]:
            return False
        try:
            states = self.lab.supervisor.status()
            if holder["holder"] in PRIMARY_SIDE_RECONCILERS:
                # the Lease may still name a reconciler killed and restarted within its duration (its old life's)
                uptime = states.get(holder["holder"], {}).get("uptime_s")
                return uptime is not None and uptime > LEASE_DURATION_S
            ready = [name for name in PRIMARY_SIDE_RECONCILERS if states.get(name, {}).get("running")]
            if holder["holder"] is None or not ready or not self.healthy():
                return False  # a primary-side reconciler takes a vacant lease by itself; or not healed yet
            self.lab.supervisor.terminate([holder["holder"]], timeout_s=5.0)
            self.lab.supervisor.start([holder["holder"]])
        except LabError:
            return False
        return False

    def _scenario(self, scenario: str, options: dict[str, Any] | None) -> LabScenario:
        return lab_scenario(scenario, Path(self.lab.state_dir), options)

    def fault(self, scenario: str, options: dict[str, Any]) -> Fault:
        return self._scenario(scenario, options).fault()

    def plan(self, scenario: str, run_id: str, options: dict[str, Any] | None = None) -> Plan:
        """Users read and write from ``zs-client`` through DNS + LB; the scenario's own signals and canaries."""
        chosen = self._scenario(scenario, options)
        extra, stop_hooks, rpo_probe = chosen.canaries(run_id)
        return Plan(paths={"reads": read_app, "writes": _user_writes(run_id)}, signals=chosen.signals(),
                    signal_interval_s=SIGNAL_INTERVAL_S,
                    layer_signals=chosen.layer_signals(), extra=extra, rpo_probe=rpo_probe,
                    path_concurrency=USER_CONCURRENCY, stop_hooks=stop_hooks)

    def user_plan(self, run_id: str) -> Plan:
        """Users reading and writing, nothing else (the SPOF sweep's observation)."""
        return Plan(paths={"reads": read_app, "writes": _user_writes(run_id)}, signals={},
                    signal_interval_s=SIGNAL_INTERVAL_S,
                    path_concurrency=USER_CONCURRENCY)

    def recovered(self, scenario: str, options: dict[str, Any] | None = None, baseline: Any = None) -> bool:
        """Return whether the lab's own view says failover finished (see each scenario's ``recovered``)
        and users are served: they read and they write."""
        return self._scenario(scenario, options).recovered() and self.serving() and _writes_served()

    def read_back(self, run_id: str) -> list[int]:
        """Return the sequence numbers of the run's canary writes present where the platform reads now.

        GitOps runs: the RPO canary pushes on the git host the leading reconciler reads (the mirror
        while the primary host is out). Other runs: the database canary rows on Patroni's current
        primary. A run writes only one of the two kinds, so the first that has any is the run's.
        """
        host = gitops_probes.current_source(Path(self.lab.state_dir)) or "primary"
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
