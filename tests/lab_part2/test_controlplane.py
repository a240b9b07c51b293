"""The control plane under faults: a real 3-member etcd, 3 kube-apiservers behind HAProxy (TLS passthrough), a
kube-scheduler pair and a kube-controller-manager pair electing through their Leases, and one node agent.

The lab's own argv builders (:mod:`zerospof.lab.controlplane.layout`) and PKI (:mod:`zerospof.lab.kube.pki`), on
127.0.0.1 (free high ports) under :class:`LocalProcesses`; everything is killed at the end. The node agent (the
kubelet stand-in) runs in a thread of the test, for the Node ``node-a``.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import RequestLoop, wait_for
from tests.lab_part2.helpers import free_ports
from tests.lab_part2.local_processes import LocalProcesses
from zerospof.faults.ledger import Ledger
from zerospof.faults.runner import apply, injected
from zerospof.lab.controlplane import layout
from zerospof.lab.controlplane.api_lb import api_lb_config
from zerospof.lab.controlplane.etcd_cluster import EtcdMember, client_urls, cluster_argvs
from zerospof.lab.controlplane.faults import (ActiveControllerManagerKill, ActiveSchedulerKill, ControlPlaneFailure,
                                             EtcdLeaderKill)
from zerospof.lab.controlplane.signals import etcd_leader, kube_lease
from zerospof.lab.kube.api import KubeApi, KubeUnavailable
from zerospof.lab.kube.node_agent import NodeAgent
from zerospof.lab.kube.pki import write_kubeconfig, write_pki

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_tools")]

ZONES = ("a", "b", "c")
NAMESPACE = "default"


@dataclass
class ControlPlane:
    processes: LocalProcesses
    endpoints: list[str]
    api: KubeApi
    kubeconfig: Path
    ledger: Ledger

    def params(self, **extra: object) -> dict[str, object]:
        return {"endpoints": self.endpoints, "processes": self.processes.factory_params(),
                "kubeconfig": str(self.kubeconfig), **extra}

    def lease(self, name: str, baseline: dict[str, Any] | None = None) -> dict[str, Any]:
        return kube_lease(self.api, name, baseline)

    def write(self) -> tuple[bool, str]:
        """Update a ConfigMap through the API LB (what the lab's API write probe does)."""
        try:
            status, answer = self.api.call("PATCH", f"/api/v1/namespaces/{NAMESPACE}/configmaps/probe",
                                           {"data": {"at": f"{time.time():.3f}"}},
                                           content_type="application/merge-patch+json")
        except KubeUnavailable as exc:
            return False, str(exc)[:200]
        return status == 200, str(status)

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        status, answer = self.api.call("POST", path, body)
        assert status == 201, answer
        return answer

    def pod(self, name: str) -> dict[str, Any]:
        status, answer = self.api.call("GET", f"/api/v1/namespaces/{NAMESPACE}/pods/{name}")
        return answer if status == 200 else {}

    def all_members_agree(self) -> bool:
        found = etcd_leader(self.endpoints)
        views = found["members"].values()
        return bool(found["leader"]) and all(v["ok"] and v["leader_id"] == found["leader_id"] for v in views)


def _pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "zerospof.local/none"}], "terminationGracePeriodSeconds": 0}}


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    state = tmp_path_factory.mktemp("controlplane")
    ports = free_ports(3 * 3 + 1)
    members = [EtcdMember(f"cp-etcd-{zone}", "127.0.0.1", ports[i], ports[3 + i], str(state / f"etcd-{zone}"))
               for i, zone in enumerate(ZONES)]
    endpoints = client_urls(members)
    api_ports, lb_port = dict(zip(ZONES, ports[6:9])), ports[9]
    lb_url = f"https://127.0.0.1:{lb_port}"
    pki = write_pki(state / "pki", ["127.0.0.1"], [
        ("admin", "test-admin", ("system:masters",)), ("scheduler", "system:kube-scheduler", ()),
        ("controller-manager", "system:kube-controller-manager", ()), ("node-a", "system:node:node-a", ("system:nodes",))])
    kubeconfigs = {stem: write_kubeconfig(state / f"{stem}.kubeconfig", lb_url, pki, stem)
                   for stem in ("admin", "scheduler", "controller-manager", "node-a")}
    spec: dict[str, dict[str, object]] = {name: {"argv": argv} for name, argv in cluster_argvs(members).items()}
    for zone in ZONES:
        spec[f"cp-api-{zone}"] = {"argv": layout.apiserver_argv("127.0.0.1", api_ports[zone], endpoints, pki,
                                                                state / f"certs-{zone}")}
    for zone in ("a", "b"):
        spec[f"cp-sched-{zone}"] = {"argv": layout.scheduler_argv(f"cp-sched-{zone}", kubeconfigs["scheduler"])}
        spec[f"cp-cm-{zone}"] = {"argv": layout.controller_manager_argv(f"cp-cm-{zone}", kubeconfigs["controller-manager"],
                                                                         pki)}
    lb_config = state / "api-lb.cfg"
    lb_config.write_text("global\n    maxconn 200\n\ndefaults\n    timeout connect 150ms\n"
                         "    timeout client 30s\n    timeout server 30s\n\n" + api_lb_config(
                             f"127.0.0.1:{lb_port}", [(f"cp-api-{z}", f"127.0.0.1:{api_ports[z]}") for z in ZONES]))
    spec["api-lb"] = {"argv": ["haproxy", "-db", "-f", str(lb_config)]}
    processes = LocalProcesses.create(state, spec)
    api = KubeApi([lb_url], pki["ca"], pki["admin"], pki["admin_key"], timeout_s=3.0)
    plane = ControlPlane(processes, endpoints, api, kubeconfigs["admin"], Ledger(state / "ledger"))
    agent = NodeAgent(KubeApi([lb_url], pki["ca"], pki["node-a"], pki["node-a_key"]), "node-a", "zone-a", "region-1",
                      "127.0.0.1", f"http://127.0.0.1:{free_ports(1)[0]}/health")  # nothing answers: pods not Ready
    stop = threading.Event()

    def keep_node_alive() -> None:
        while not stop.wait(1.0):
            try:
                agent.step()
            except KubeUnavailable:
                continue
    try:
        processes.start([member.name for member in members])
        _, waited = wait_for(plane.all_members_agree, 15)
        assert plane.all_members_agree(), f"etcd did not elect a leader in {waited:.1f}s"
        processes.start([f"cp-api-{zone}" for zone in ZONES] + ["api-lb"])
        ready, waited = wait_for(lambda: _ready(plane), 90, 0.5)
        assert ready, f"the API was not ready through the LB after {waited:.0f}s"
        processes.start(["cp-sched-a", "cp-cm-a"])
        assert wait_for(lambda: plane.lease("kube-scheduler")["component"] == "cp-sched-a"
                        and plane.lease("kube-controller-manager")["component"] == "cp-cm-a", 60, 0.5)[0]
        processes.start(["cp-sched-b", "cp-cm-b"])
        threading.Thread(target=keep_node_alive, daemon=True).start()
        plane.create(f"/api/v1/namespaces/{NAMESPACE}/configmaps",
                     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}})
        assert wait_for(lambda: _node_ready(plane), 30, 0.5)[0], "node-a never became Ready"
        yield plane
    finally:
        stop.set()
        processes.shutdown()


def _ready(plane: ControlPlane) -> bool:
    try:
        return plane.api.call("GET", "/readyz", timeout_s=1.0)[0] == 200
    except KubeUnavailable:
        return False


def _node_ready(plane: ControlPlane) -> bool:
    status, node = plane.api.call("GET", "/api/v1/nodes/node-a")
    return status == 200 and not node["spec"].get("taints") and any(
        c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))


def _restored(plane: ControlPlane) -> bool:
    return (all(state["running"] for state in plane.processes.status().values()) and plane.all_members_agree()
            and plane.lease("kube-scheduler")["held"] and plane.lease("kube-controller-manager")["held"])


def test_killing_the_etcd_leader_elects_a_new_one_and_api_writes_succeed_again(
        control_plane: ControlPlane, figure: Callable[[str, float, str], None]) -> None:
    plane = control_plane
    baseline = etcd_leader(plane.endpoints)
    fault = EtcdLeaderKill(plane.params())
    with RequestLoop(plane.write, 0.05) as writes:
        time.sleep(0.3)
        with injected(fault, ledger=plane.ledger):
            t0 = time.monotonic()
            leader, detection_s = wait_for(lambda: etcd_leader(plane.endpoints, baseline)["detected"], 10, 0.02)
            assert leader, "no new etcd leader within 10 s"
            wait_for(lambda: writes.first_ok_sent_after(t0 + detection_s), 10)
            first_ok = writes.first_ok_sent_after(t0)
            assert first_ok is not None, "no API write succeeded through the LB after the leader was killed"
            time.sleep(1.0)
            failed = len(writes.failed_since(t0 - 0.3))
            slowest = writes.slowest_since(t0 - 0.3)
            new = etcd_leader(plane.endpoints)
        assert new["leader"] != baseline["leader"] and new["raft_term"] > baseline["raft_term"]
        assert fault.undo["killed"] == [baseline["leader"]]
    figure("etcd: new leader seen after SIGKILL of the leader (t0 = kill verified)", detection_s, "s")
    figure("etcd: first API write (ConfigMap update) sent after t0 acknowledged through the LB", first_ok - t0, "s")
    figure("etcd: failed API writes through the LB (one every 50 ms)", failed, "requests")
    figure("etcd: slowest API write through the LB around the kill", slowest, "s")
    assert detection_s < 3.0
    restored, waited = wait_for(lambda: _restored(plane), 30)
    assert restored, f"the killed member did not rejoin: {plane.processes.status()}"
    figure("etcd: killed member rejoined after revert", waited, "s")


def test_killing_the_lease_holding_scheduler_lets_the_standby_take_the_lease_and_bind_pods(
        control_plane: ControlPlane, figure: Callable[[str, float, str], None]) -> None:
    plane = control_plane
    baseline = plane.lease("kube-scheduler")
    with injected(ActiveSchedulerKill(plane.params()), ledger=plane.ledger):
        t0 = time.monotonic()
        name = f"after-the-scheduler-kill-{int(time.time())}"
        plane.create(f"/api/v1/namespaces/{NAMESPACE}/pods", _pod(name))
        took, takeover_s = wait_for(lambda: plane.lease("kube-scheduler", baseline)["detected"], 20, 0.05)
        assert took, f"the standby never took the Lease: {plane.lease('kube-scheduler')}"
        holder = plane.lease("kube-scheduler")["component"]
        bound, _ = wait_for(lambda: plane.pod(name).get("spec", {}).get("nodeName"), 20, 0.1)
        bound_s = time.monotonic() - t0
    assert holder != baseline["component"] and bound == "node-a"
    figure("kube-scheduler: standby holds the Lease after SIGKILL of the holder "
           f"(lease {layout.LEASE_DURATION_S} s)", takeover_s, "s")
    figure("kube-scheduler: pod created after t0 bound by the standby", bound_s, "s")
    assert takeover_s < layout.LEASE_DURATION_S + 3 * layout.RETRY_PERIOD_S + 1.0
    assert wait_for(lambda: _restored(plane), 30)[0]
    time.sleep(layout.LEASE_DURATION_S)
    assert plane.lease("kube-scheduler")["component"] == holder  # the restarted one stays standby: no flapping


def test_killing_the_lease_holding_controller_manager_lets_the_standby_take_over_the_controllers(
        control_plane: ControlPlane, figure: Callable[[str, float, str], None]) -> None:
    plane = control_plane
    baseline = plane.lease("kube-controller-manager")
    with injected(ActiveControllerManagerKill(plane.params()), ledger=plane.ledger):
        t0 = time.monotonic()
        name = f"after-the-cm-kill-{int(time.time())}"
        labels = {"test": name}
        plane.create(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": _pod(name)["spec"]}}})
        took, takeover_s = wait_for(lambda: plane.lease("kube-controller-manager", baseline)["detected"], 20, 0.05)
        assert took, f"the standby never took the Lease: {plane.lease('kube-controller-manager')}"
        holder = plane.lease("kube-controller-manager")["component"]

        def pods_made() -> list[dict[str, Any]]:
            status, found = plane.api.call("GET", f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector=test%3D{name}")
            return found["items"] if status == 200 else []
        made, _ = wait_for(pods_made, 30, 0.2)
        made_s = time.monotonic() - t0
    assert holder != baseline["component"] and made, "the Deployment made after the kill got no pod"
    figure("kube-controller-manager: standby holds the Lease after SIGKILL of the holder "
           f"(lease {layout.LEASE_DURATION_S} s)", takeover_s, "s")
    figure("kube-controller-manager: Deployment created after t0 got its pod (standby's controllers)", made_s, "s")
    assert takeover_s < layout.LEASE_DURATION_S + 3 * layout.RETRY_PERIOD_S + 1.0
    assert wait_for(lambda: _restored(plane), 30)[0]


def test_control_plane_fault_kills_etcd_leader_apiserver_scheduler_and_controller_manager_and_its_record_reverts_it(
        control_plane: ControlPlane, figure: Callable[[str, float, str], None]) -> None:
    plane = control_plane
    assert wait_for(lambda: _restored(plane), 30)[0]
    fault = ControlPlaneFailure(plane.params(api_replica={"component": "cp-api-b"}))
    apply(fault, plane.ledger)  # reverted below from the ledger record alone, as `zerospof revert` would
    try:
        t0 = time.monotonic()
        killed = [name for part in ControlPlaneFailure.parts for name in fault.undo[part]["killed"]]
        assert len(killed) == 4 and "cp-api-b" in killed, killed
        assert not any(plane.processes.status()[name]["running"] for name in killed)
        written = wait_for(lambda: plane.write()[0], 15)[0]
        write_s = time.monotonic() - t0
        assert written, "no API write through the LB while the control-plane fault was in effect"
    finally:
        reports = plane.ledger.revert_open()
    assert [report.reverted for report in reports] == [True], reports
    figure("control-plane: first API write through the LB after killing leader + apiserver + both holders", write_s, "s")
    restored, waited = wait_for(lambda: _restored(plane), 60)
    assert restored, plane.processes.status()
    figure("control-plane: all members running, etcd agreed, both Leases held after revert", waited, "s")
    plane.ledger.records()[-1].fault().revert()  # once more: idempotent
    assert _restored(plane)


def test_haproxy_accepts_the_api_lb_snippet(tmp_path: Path) -> None:
    config = tmp_path / "lb.cfg"
    config.write_text("global\n    maxconn 10\n\ndefaults\n    timeout client 1s\n\n"
                      + api_lb_config("127.0.0.1:1", [("one", "127.0.0.1:2"), ("two", "127.0.0.1:3")]))
    result = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
