"""``Lab``: bring the embedded lab up, check it, tear it down."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from zerospof.errors import LabError
from zerospof.lab import configs, health, leftovers, network, preflight
from zerospof.lab import topology as t
from zerospof.lab.control import SupervisorClient
from zerospof.lab.controlplane.etcd_http import EtcdClient, EtcdUnavailable
from zerospof.lab.controlplane import layout as cp_layout
from zerospof.lab.controlplane.probes import admin_api
from zerospof.lab.gitops.signals import reconciler_holder
from zerospof.lab.kube.workload import deploy_app, prepare_namespace

__all__ = ["Lab", "REFERENCE_RECONCILER", "default_state_dir"]

_LOG_TAIL_LINES = 8
REFERENCE_RECONCILER = "gitops-primary"  # leads in the reference state (reads the primary git host)


def default_state_dir() -> Path:
    """Return ``$ZEROSPOF_LAB_DIR`` or ``/var/tmp/zerospof-lab`` (must be traversable by postgres)."""
    return Path(os.environ.get("ZEROSPOF_LAB_DIR") or "/var/tmp/zerospof-lab")


class Lab:
    """The lab on this machine, its state (configs, data, logs) under ``state_dir``."""

    def __init__(self, state_dir: str | Path | None = None) -> None:
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self.supervisor = SupervisorClient(self.state_dir)
        self.steps_s: dict[str, float] = {}  # the last fresh start's waits, for benchmarks
        self._namespace_ready = False  # the app's namespace and RBAC exist (checked once per fresh start)

    # -- up ----------------------------------------------------------------------------
    def up(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Bring the whole lab up and wait until every component is healthy. Idempotent.

        Writes the admin's kubeconfig (the API through the API LB) to ``<state_dir>/kubeconfig``.
        Returns ``{"up_s", "kubeconfig", "components_s": {name: seconds until healthy}, "steps_s": {what was
        waited for: seconds until it held}}`` (steps only after a fresh start). A lab that is
        already running is completed (missing components started) rather than rebuilt.
        Raises LabError naming the components that did not become healthy (with log tails).
        """
        started = time.monotonic()
        preflight.check()
        if self.supervisor.alive():
            running = {name: state["running"] for name, state in self.supervisor.status().items()}
            missing = [name for name, is_running in running.items() if not is_running]
            if missing:
                self.supervisor.start(missing)
        else:
            self.down()
            self.steps_s = {}
            self._fresh_start(started)
        ready = self._wait_healthy(started, timeout_s)
        return {"up_s": round(time.monotonic() - started, 2), "kubeconfig": str(cp_layout.admin_kubeconfig(self.state_dir)),
                "components_s": ready, "steps_s": dict(self.steps_s)}

    def _fresh_start(self, started: float) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("data", "run", "logs.previous"):
            shutil.rmtree(self.state_dir / sub, ignore_errors=True)
        if (self.state_dir / "logs").is_dir():  # the previous lab's logs stay for one more run, then go
            (self.state_dir / "logs").rename(self.state_dir / "logs.previous")
        _make_traversable(self.state_dir)
        configs.write_all(self.state_dir)
        network.create()
        self._launch_supervisor()
        self._namespace_ready = False
        first_pg = f"pg-{t.PG_INITIAL_PRIMARY}"
        later_pg = [f"pg-{z}" for z in t.PG_ZONES if z != t.PG_INITIAL_PRIMARY]
        later_reconcilers = [name for name in configs.component_names("gitops") if name != REFERENCE_RECONCILER]
        etcd = [(f"etcd-{p}", t.place(p).address, t.ETCD_PEER_PORT) for p in t.ETCD_PLACES]
        cp_etcd = [(f"cp-etcd-{z}", t.place(z).address, cp_layout.CP_ETCD_PEER_PORT) for z in cp_layout.CP_ZONES]
        first_api, *later_api = configs.component_names("cp-api")
        later = {*later_pg, *later_reconcilers, *later_api, *(name for name, _, _ in etcd + cp_etcd)}
        # Stages, each once the one before it holds:
        # - the DNS servers, the LB nodes and Patroni's etcd, one member after the other: a new member first
        #   asks its peers whether the cluster exists, waiting up to 1 s for each peer that listens but does
        #   not serve yet, so members started together elect after 0.2-3 s, one by one after ~0.2 s;
        # - once it has a leader, everything else but the later Patroni members and reconcilers (a Patroni
        #   that asks an etcd without a leader waits 5 s before it asks again), the control plane's etcd
        #   again one member after the other;
        # - the other Patroni members once the intended primary holds the initialize key, or one of them
        #   could bootstrap the cluster instead;
        # - the other kube-apiservers once the first is ready: on a new etcd, started together, each creates the
        #   default Service's ClusterIP object and the losers' IP repair stops on "already exists", so their
        #   post-start hook never finishes and they exit after 60 s (upstream kubernetes#141220; a kubelet would
        #   restart them);
        # - the other reconcilers once the reference one (it reads the primary git host) holds the GitOps
        #   Lease (on the Kubernetes API, in the app's namespace: created here first), so that it leads.
        stages: list[tuple[str, Any, list[str], list[str]]] = [
            ("the start", lambda: True,
             [*configs.component_names("dns"), *configs.component_names("lb"), *configs.component_names("security"),
              etcd[0][0]], []),
        ]
        stages += _one_by_one(etcd)
        stages.append(("Patroni's etcd to elect a leader", _etcd_healthy,
                       [name for name in configs.component_names() if name not in later] + [cp_etcd[0][0]],
                       [name for name, _, _ in etcd]))
        stages += _one_by_one(cp_etcd)
        stages += [
            ("Patroni's initialize key", lambda: _etcd_has_key(f"/service/{t.PATRONI_SCOPE}/initialize"),
             later_pg, [first_pg]),
            (f"{first_api} to be ready",
             lambda: health.api_server_ready(self.state_dir, first_api.removeprefix("cp-api-")),
             later_api, [first_api, *(name for name, _, _ in cp_etcd)]),
            (f"{REFERENCE_RECONCILER} to hold the GitOps Lease", self._reference_reconciler_leads,
             later_reconcilers, [REFERENCE_RECONCILER, "git-primary", *(name for name, _, _ in cp_etcd),
                                 *configs.component_names("cp-api")]),
        ]
        self._start_in_stages(stages, started, 30.0)

    def _reference_reconciler_leads(self) -> bool:
        """The app's namespace and RBAC exist (the reconcilers elect in it) and the reference reconciler leads."""
        if not self._namespace_ready:
            self._namespace_ready = prepare_namespace(self.state_dir)
        return self._namespace_ready and reconciler_holder(
            admin_api(self.state_dir, 1.0))["holder"] == REFERENCE_RECONCILER

    def _start_in_stages(self, stages: list[tuple[str, Any, list[str], list[str]]], started: float,
                         timeout_s: float) -> None:
        """For each ``(what, predicate, names, blame)`` in turn: wait until ``predicate()``, then start ``names``.

        Records in ``self.steps_s`` when each stage started its components (seconds since ``started``).
        """
        deadline = time.monotonic() + timeout_s
        for what, predicate, names, blame in stages:
            for _ in range(int(timeout_s / 0.1) + 1):
                if predicate():
                    break
                if time.monotonic() >= deadline:
                    raise LabError(f"timed out after {time.monotonic() - started:.1f}s waiting for {what}; "
                                   + self._blame(blame))
                time.sleep(0.1)
            self.supervisor.start(names)
            self.steps_s[what] = round(time.monotonic() - started, 2)

    def _launch_supervisor(self) -> None:
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [sys.executable, "-m", "zerospof.lab.supervisor", "--state-dir", str(self.state_dir), "--daemonize"],
            cwd=configs.PROJECT_ROOT,  # MALLOC_ARENA_MAX: for the daemons it forks without exec, too
            env={**os.environ, "PYTHONPATH": str(configs.PROJECT_ROOT), "MALLOC_ARENA_MAX": "2"},
            capture_output=True, text=True, timeout=20,
        )
        if result.returncode != 0:
            raise LabError(f"lab supervisor did not start: {result.stderr.strip() or result.stdout.strip()} "
                           f"(see {self.state_dir / 'logs' / 'supervisor.log'})")

    def _wait_healthy(self, started: float, timeout_s: float) -> dict[str, float]:
        ready: dict[str, float] = {}
        deadline = started + timeout_s
        report: dict[str, dict[str, Any]] = {}
        table_created = app_deployed = False
        for _ in range(int(timeout_s / 0.2) + 1):
            states = self.supervisor.status()
            running = {name: state["running"] for name, state in states.items()}
            # a component that exits on purpose and is restarted (a kube-controller-manager that lost its Lease or
            # whose controllers could not start: it exits, as in a cluster) is not a crash; a crash loop still
            # ends in "not healthy" below. A supervisor started by an older zerospof does not say: then it is a crash
            crashed = [name for name, state in states.items()
                       if not (state["running"] or state.get("restart_pending", False))]
            if crashed:
                raise LabError("lab components exited during start: " + self._blame(crashed))
            if not table_created:
                table_created = _create_table()
            if not app_deployed:
                app_deployed = deploy_app(self.state_dir)
            report = health.check(self.state_dir, running)
            now = round(time.monotonic() - started, 2)
            for name, state in report.items():
                if state["healthy"]:
                    ready.setdefault(name, now)
            if table_created and app_deployed and all(state["healthy"] for state in report.values()):
                return ready
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        unhealthy = [name for name, state in report.items() if not state["healthy"]]
        details = "; ".join(f"{name}: {report[name]['detail']}" for name in unhealthy)
        raise LabError(f"lab not healthy after {timeout_s:.0f}s: {details}\n" + self._blame(unhealthy))

    def _blame(self, names: list[str]) -> str:
        parts = []
        for name in names:
            log = self.state_dir / "logs" / f"{name}.log"
            try:
                tail = log.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
            except OSError:
                tail = []
            parts.append(f"[{name}] log {log}:\n    " + "\n    ".join(tail))
        return "\n".join(parts)

    # -- status ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Return ``{"healthy": bool, "supervisor": bool, "kubeconfig": path, "components": {name: {...}}}``."""
        if not self.supervisor.alive():
            return {"healthy": False, "supervisor": False, "components": {},
                    "namespaces": network.existing_namespaces()}
        states = self.supervisor.status()
        running = {name: state["running"] for name, state in states.items()}
        report = health.check(self.state_dir, running)
        for name, state in states.items():
            report.setdefault(name, {}).update(running=state["running"], pid=state["pid"],
                                                starts=state["starts"], exit_code=state["exit_code"])
        return {"healthy": all(state["healthy"] for state in report.values()), "supervisor": True,
                "kubeconfig": str(cp_layout.admin_kubeconfig(self.state_dir)), "components": report}

    # -- knobs -------------------------------------------------------------------------
    def set_replication_cap(self, kbit: int | None) -> None:
        """Cap replication traffic from region 1 into region 2 at ``kbit`` kbit/s (None: no cap).

        An HTB class on the host ends of region 2's veths; real lag, so RPO > 0 can happen.
        """
        network.set_replication_cap(kbit, region=t.REGIONS[1])

    def set_app_db_routing(self, mode: str) -> None:
        """Set how every app replica picks its database LB node: ``health-checked`` (the lab's own),
        ``static`` (every node handed to libpq in a fixed order: a lost node costs each request 2 s).

        ``static`` re-creates a flaw on purpose, so tests can prove the gate fails on slow requests.
        """
        from zerospof.lab.app_admin import set_db_routing

        set_db_routing(mode)

    def set_app_key_services(self, mode: str) -> None:
        """``with-replica`` (the lab's own: an app whose region's key/secret service is lost decrypts with the
        other region's replica) or ``own-region-only`` (re-creates a flaw on purpose: no replica fallback)."""
        from zerospof.lab.app_admin import set_key_services

        set_key_services(mode)

    def set_dns_answers(self, mode: str) -> None:
        """``health-checked`` (the lab's own: every serving LB node, health-checked) or ``pinned`` (re-creates a
        flaw on purpose: a plain record naming lb-r1-a only). Rewrites each provider's zone and reloads it;
        LabError naming the provider that did not take it."""
        zone = configs.dns_zone(mode)
        failed = []
        for server in t.DNS_SERVERS:
            directory = configs.dns_directory(self.state_dir, server)
            (directory / "zone").write_text(zone)
            done = subprocess.run(["pdns_control", f"--socket-dir={directory}", "bind-reload-now", t.DNS_ZONE],
                                  capture_output=True, text=True, timeout=10)
            if done.returncode != 0 or "error" in done.stdout.lower():
                failed.append(f"{server.name}: {(done.stdout + done.stderr).strip()[:200]}")
        if failed:
            raise LabError("could not set the DNS providers' answers: " + "; ".join(failed))
        answers_file = configs.dns_answers_file(self.state_dir)
        if mode == "health-checked":
            answers_file.unlink(missing_ok=True)
        else:
            answers_file.write_text(mode)

    # -- down --------------------------------------------------------------------------
    def down(self) -> dict[str, Any]:
        """Remove every lab process, namespace and link; also after the supervisor was SIGKILLed.

        Idempotent. Keeps ``state_dir/logs`` for post-mortems (until the next ``up`` but one); removes data and configs.
        """
        started = time.monotonic()
        if self.supervisor.alive():
            try:
                SupervisorClient(self.state_dir, timeout_s=5.0).shutdown()
            except LabError:
                pass
        pid = self.supervisor.pid()
        if pid is not None and _is_supervisor(pid):
            _kill_and_wait([pid])
        for _ in range(10):  # bounded: a dying daemon may still fork
            pids = [pid for ns in network.existing_namespaces() for pid in network.namespace_pids(ns)]
            if not pids:
                break
            _kill_and_wait(pids)
        # A supervisor whose pid file is gone (a killed run, an earlier state dir) and the daemons it forked
        # outside the namespaces are found by their command lines.
        _kill_and_wait([process["pid"] for process in leftovers.lab_processes(self.state_dir)])
        network.destroy()
        for name in ("data", "run", "supervisor.sock", "supervisor.pid"):
            path = self.state_dir / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()
        remaining = network.existing_namespaces()
        if remaining:
            raise LabError(f"lab down left namespaces behind: {remaining}")
        return {"down_s": round(time.monotonic() - started, 2)}


def _make_traversable(path: Path) -> None:
    os.chmod(path, 0o755)
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            raise LabError(f"{parent} is not traversable by the postgres user; choose another lab state dir")


def _is_supervisor(pid: int) -> bool:
    try:
        return b"zerospof.lab.supervisor" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _kill_and_wait(pids: list[int], timeout_s: float = 3.0) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _one_by_one(members: list[tuple[str, str, int]]) -> list[tuple[str, Any, list[str], list[str]]]:
    """Stages that start each etcd member of ``[(name, address, peer port)]`` once the one before serves its peers."""
    return [(f"{before} to serve its peers", lambda address=address, port=port: _serves_peers(address, port),
             [name], [before])
            for (before, address, port), (name, _, _) in zip(members, members[1:])]


def _serves_peers(address: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}:{port}/members", timeout=0.3) as reply:
            return reply.status == 200
    except OSError:
        return False


def _etcd_healthy() -> bool:
    """Return True when a member of Patroni's etcd says it is healthy (it has a leader)."""
    for where in t.ETCD_PLACES:
        url = f"http://{t.place(where).address}:{t.ETCD_CLIENT_PORT}/health"
        try:
            with urllib.request.urlopen(url, timeout=0.3) as reply:
                if json.load(reply).get("health") == "true":
                    return True
        except (OSError, ValueError):
            continue
    return False


def _etcd_has_key(key: str) -> bool:
    try:
        return EtcdClient(configs.etcd_endpoints(), timeout_s=0.5).get(key) is not None
    except EtcdUnavailable:
        return False


def _create_table() -> bool:
    """Create the app's table on the current primary; False while there is none yet."""
    import psycopg

    from zerospof.lab.app import TABLE_DDL

    for zone in t.PG_ZONES:
        address = t.place(zone).address
        try:
            with urllib.request.urlopen(f"http://{address}:{t.PATRONI_PORT}/primary", timeout=0.5):
                pass
            with psycopg.connect(host=address, port=t.PG_PORT, user="postgres", dbname="postgres",
                                 connect_timeout=2, autocommit=True) as conn:
                conn.execute(TABLE_DDL)
            return True
        except (OSError, psycopg.Error):
            continue
    return False
