"""The control plane under faults: a real 3-member etcd, 3 API replicas behind HAProxy, 2 schedulers.

Everything runs on 127.0.0.1 (free high ports) under :class:`LocalProcesses` and is killed at the end.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.lab_part2.helpers import Probe, free_ports, http_json
from tests.lab_part2.local_processes import LocalProcesses
from zerospof.faults.ledger import Ledger
from zerospof.faults.runner import apply, injected
from zerospof.lab.controlplane import scheduler
from zerospof.lab.controlplane.api_lb import api_lb_config
from zerospof.lab.controlplane.etcd_cluster import EtcdMember, client_urls, cluster_argvs
from zerospof.lab.controlplane.faults import ActiveSchedulerKill, ControlPlaneFailure, EtcdLeaderKill
from zerospof.lab.controlplane.signals import api_health, etcd_leader, lease_holder

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_tools")]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ZONES = ("a", "b", "c")


@dataclass
class ControlPlane:
    processes: LocalProcesses
    endpoints: list[str]
    lb_url: str
    ledger: Ledger

    def params(self, **extra: object) -> dict[str, object]:
        return {"endpoints": self.endpoints, "processes": self.processes.factory_params(), **extra}

    def create(self, name: str) -> dict[str, object]:
        status, body = http_json("POST", f"{self.lb_url}/objects/deployments", {"name": name}, timeout_s=3)
        assert status == 201, body
        return body

    def deployment(self, object_id: str) -> dict[str, object]:
        status, body = http_json("GET", f"{self.lb_url}/objects/deployments/{object_id}")
        return body if status == 200 else {}

    def all_members_agree(self) -> bool:
        found = etcd_leader(self.endpoints)
        views = found["members"].values()
        return bool(found["leader"]) and all(v["ok"] and v["leader_id"] == found["leader_id"] for v in views)


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    state = tmp_path_factory.mktemp("controlplane")
    ports = free_ports(3 * 3 + 1)
    members = [EtcdMember(f"cp-etcd-{zone}", "127.0.0.1", ports[i], ports[3 + i], str(state / f"etcd-{zone}"))
               for i, zone in enumerate(ZONES)]
    endpoints = client_urls(members)
    api_ports = dict(zip(ZONES, ports[6:9]))
    lb_port = ports[9]
    python = [sys.executable, "-m"]
    env = {"PYTHONPATH": str(PROJECT_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    spec: dict[str, dict[str, object]] = {name: {"argv": argv} for name, argv in cluster_argvs(members).items()}
    for zone in ZONES:
        spec[f"cp-api-{zone}"] = {"env": env, "argv": [
            *python, "zerospof.lab.controlplane.api_server", f"--listen=127.0.0.1:{api_ports[zone]}",
            f"--etcd={','.join(endpoints)}", f"--name=cp-api-{zone}"]}
    for zone in ("a", "b"):
        spec[f"cp-sched-{zone}"] = {"env": env, "argv": [
            *python, "zerospof.lab.controlplane.scheduler", f"--name=cp-sched-{zone}", f"--etcd={','.join(endpoints)}"]}
    lb_config = state / "api-lb.cfg"
    lb_config.write_text("global\n    maxconn 200\n\ndefaults\n    mode http\n    timeout connect 150ms\n"
                         "    timeout client 30s\n    timeout server 10s\n\n" + api_lb_config(
                             f"127.0.0.1:{lb_port}", [(f"cp-api-{z}", f"127.0.0.1:{api_ports[z]}") for z in ZONES]))
    spec["api-lb"] = {"argv": ["haproxy", "-db", "-f", str(lb_config)]}
    processes = LocalProcesses.create(state, spec)
    plane = ControlPlane(processes, endpoints, f"http://127.0.0.1:{lb_port}", Ledger(state / "ledger"))
    try:
        processes.start([member.name for member in members])
        _, waited = wait_for(plane.all_members_agree, 15)
        assert plane.all_members_agree(), f"etcd did not elect a leader in {waited:.1f}s"
        processes.start([f"cp-api-{zone}" for zone in ZONES] + ["api-lb", "cp-sched-a"])
        assert wait_for(lambda: lease_holder(endpoints, scheduler.LEADER_KEY)["holder"] == "cp-sched-a", 15)[0]
        processes.start(["cp-sched-b"])
        assert wait_for(lambda: api_health(f"{plane.lb_url}/health")["healthy"], 15)[0]
        yield plane
    finally:
        processes.shutdown()


def _restored(plane: ControlPlane) -> bool:
    return all(state["running"] for state in plane.processes.status().values()) and plane.all_members_agree()


def test_killing_the_etcd_leader_elects_a_new_one_and_api_writes_succeed_again(
        control_plane: ControlPlane, figure: Callable[[str, float, str], None]) -> None:
    plane = control_plane
    baseline = etcd_leader(plane.endpoints)
    fault = EtcdLeaderKill(plane.params())
    with Probe("POST", f"{plane.lb_url}/objects/deployments", {"name": "probe"}) as probe:
        time.sleep(0.3)
        with injected(fault, ledger=plane.ledger):
            t0 = time.monotonic()
            leader, detection_s = wait_for(lambda: etcd_leader(plane.endpoints, baseline)["detected"], 10, 0.02)
            assert leader, "no new etcd leader within 10 s"
            wait_for(lambda: probe.first_ok_sent_after(t0 + detection_s), 10)
            first_ok = probe.first_ok_sent_after(t0)
            assert first_ok is not None, "no API write succeeded through the LB after the leader was killed"
            time.sleep(1.0)
            failed = len(probe.failed_since(t0 - 0.3))
            slowest = probe.slowest_since(t0 - 0.3)
            new = etcd_leader(plane.endpoints)
        assert new["leader"] != baseline["leader"] and new["raft_term"] > baseline["raft_term"]
        assert fault.undo["killed"] == [baseline["leader"]]
    figure("etcd: new leader seen after SIGKILL of the leader (t0 = kill verified)", detection_s, "s")
    figure("etcd: first API write sent after t0 acknowledged through the LB", first_ok - t0, "s")
    figure("etcd: failed API writes through the LB (one every 50 ms)", failed, "requests")
    figure("etcd: slowest API write through the LB around the kill", slowest, "s")
    assert detection_s < 3.0
    restored, waited = wait_for(lambda: _restored(plane), 15)
    assert restored, f"the killed member did not rejoin: {plane.processes.status()}"
    figure("etcd: killed member rejoined after revert", waited, "s")


def test_killing_the_active_scheduler_lets_the_standby_take_the_lease_and_continue(
        control_plane: ControlPlane, figure: Callable[[str, float, str], None]) -> None:
    plane = control_plane
    before = plane.create("before-the-fault")
    baseline = lease_holder(plane.endpoints, scheduler.LEADER_KEY)
    active = baseline["holder"]
    assigned = wait_for(lambda: plane.deployment(before["id"]).get("assigned_by"), 5)[0]
    assert assigned == active
    with injected(ActiveSchedulerKill(plane.params()), ledger=plane.ledger):
        t0 = time.monotonic()
        pending = plane.create("after-the-fault")
        found, takeover_s = wait_for(lambda: lease_holder(plane.endpoints, scheduler.LEADER_KEY, baseline)["detected"],
                                     10, 0.02)
        assert found, "the standby never took the scheduler lease"
        new_holder = lease_holder(plane.endpoints, scheduler.LEADER_KEY)["holder"]
        assigned_by, _ = wait_for(lambda: plane.deployment(pending["id"]).get("assigned_by"), 10)
        assigned_s = time.monotonic() - t0
    assert new_holder != active and assigned_by == new_holder
    figure("scheduler: standby holds the lease after SIGKILL of the active one", takeover_s, "s")
    figure("scheduler: deployment created after t0 assigned by the standby", assigned_s, "s")
    assert takeover_s < 2 + 2.0  # lease TTL 2 s + expiry granularity + one campaign interval
    assert wait_for(lambda: _restored(plane), 10)[0]
    assert lease_holder(plane.endpoints, scheduler.LEADER_KEY)["holder"] == new_holder  # no flapping back


def test_a_scheduler_stopped_with_sigterm_releases_its_lease_at_once(
        control_plane: ControlPlane, figure: Callable[[str, float, str], None]) -> None:
    plane = control_plane
    baseline = lease_holder(plane.endpoints, scheduler.LEADER_KEY)
    started = time.monotonic()
    plane.processes.signal([baseline["holder"]], signal.SIGTERM)
    assert plane.processes.exit_code(baseline["holder"]) == 0
    found, handover_s = wait_for(lambda: lease_holder(plane.endpoints, scheduler.LEADER_KEY, baseline)["detected"],
                                 5, 0.02)
    assert found
    handover_s = time.monotonic() - started
    figure("scheduler: standby holds the lease after SIGTERM of the active one (incl. its exit)", handover_s, "s")
    assert handover_s < 2.0  # well under the TTL: the lease was revoked, not left to expire
    plane.processes.start([baseline["holder"]])


def test_control_plane_fault_kills_etcd_leader_api_replica_and_scheduler_and_its_record_reverts_it(
        control_plane: ControlPlane, figure: Callable[[str, float, str], None]) -> None:
    plane = control_plane
    fault = ControlPlaneFailure(plane.params(api_replica={"component": "cp-api-b"}))
    apply(fault, plane.ledger)  # reverted below from the ledger record alone, as `zerospof revert` would
    try:
        t0 = time.monotonic()
        killed = [name for part in ("etcd_leader", "api_replica", "scheduler") for name in fault.undo[part]["killed"]]
        assert len(killed) == 3 and "cp-api-b" in killed
        assert not any(plane.processes.status()[name]["running"] for name in killed)
        created = wait_for(lambda: http_json("POST", f"{plane.lb_url}/objects/deployments", {"name": "cp"})[0] == 201,
                           10)[0]
        write_s = time.monotonic() - t0
        assert created, "no API write through the LB while the control-plane fault was in effect"
    finally:
        reports = plane.ledger.revert_open()
    assert [report.reverted for report in reports] == [True], reports
    figure("control-plane: first API write through the LB after killing leader + replica + scheduler", write_s, "s")
    restored, waited = wait_for(lambda: _restored(plane), 15)
    assert restored, plane.processes.status()
    figure("control-plane: all members healthy again after revert from the ledger", waited, "s")
    plane.ledger.records()[-1].fault().revert()  # once more: idempotent
    assert _restored(plane)


def test_haproxy_accepts_the_api_lb_snippet(tmp_path: Path) -> None:
    config = tmp_path / "lb.cfg"
    config.write_text("global\n    maxconn 10\n\ndefaults\n    mode http\n    timeout client 1s\n\n"
                      + api_lb_config("127.0.0.1:1", [("one", "127.0.0.1:2"), ("two", "127.0.0.1:3")]))
    result = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
