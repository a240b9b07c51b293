"""The lab's control plane and GitOps under real faults: process kills and a cut git host, in the running lab.

Every test starts from the reference state (a primary-side reconciler leads, everything healthy)
and prints the figures it measured.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from lab_helpers import Probe

from tests.helpers import RequestLoop, wait_for
from zerospof.faults import Ledger, injected
from zerospof.faults.link import link_is_up
from zerospof.faults.runner import apply
from zerospof.lab import Lab
from zerospof.lab.controlplane import layout as cp_layout
from zerospof.lab.controlplane import probes as cp_probes
from zerospof.lab.controlplane.faults import ActiveControllerManagerKill, ActiveSchedulerKill, EtcdLeaderKill
from zerospof.lab.controlplane.processes import DEFAULT_FACTORY
from zerospof.lab.controlplane.signals import etcd_leader, kube_lease
from zerospof.lab.driver import LabDriver
from zerospof.lab.gitops import layout as gitops_layout
from zerospof.lab.gitops import probes as gitops_probes
from zerospof.lab.gitops import reconciler
from zerospof.lab.gitops.faults import ActiveReconcilerKill, GitHostUnreachable
from zerospof.lab.gitops.signals import reconciler_holder
from zerospof.monitors import ProbeFailed

pytestmark = [pytest.mark.lab, pytest.mark.slow]

CP_ETCD = cp_layout.etcd_endpoints()


def ApiWrites(lab: Lab, interval_s: float = 0.05) -> RequestLoop:  # noqa: N802 - reads like the class it stands for
    """Update a ConfigMap through the API load balancer every ``interval_s`` in a thread; keep (sent, answered, ok,
    detail)."""
    write = cp_probes.api_writer(lab.state_dir)

    def request() -> tuple[bool, str]:
        try:
            return True, str(write(timeout_s=2.0)["lb"])
        except ProbeFailed as exc:
            return False, str(exc)[:200]
    return RequestLoop(request, interval_s)


@pytest.fixture
def driver(lab: Lab) -> Iterator[LabDriver]:
    """The lab's driver; every test starts and ends in the reference state."""
    instance = LabDriver(lab)
    assert wait_for(lambda: instance.restore() and instance.healthy(), timeout_s=60, interval_s=0.5)[0], lab.status()
    yield instance
    restored, _ = wait_for(lambda: instance.restore() and instance.healthy(), timeout_s=60, interval_s=0.5)
    assert restored, {name: s["detail"] for name, s in lab.status()["components"].items() if not s["healthy"]}


def _processes(lab: Lab) -> dict[str, str]:
    return {"factory": DEFAULT_FACTORY, "state_dir": str(lab.state_dir)}


def _pod(lab: Lab, name: str) -> dict[str, Any]:
    path = f"/api/v1/namespaces/{cp_layout.APP_NAMESPACE}/pods/{name}"
    status, found = cp_probes.admin_api(lab.state_dir).call("GET", path)
    return found if status == 200 else {}


def _app_pods(lab: Lab) -> list[dict[str, Any]]:
    status, found = cp_probes.admin_api(lab.state_dir).call(
        "GET", f"/api/v1/namespaces/{cp_layout.APP_NAMESPACE}/pods?labelSelector=app.kubernetes.io%2Fname%3Dzerospof-lab-app")
    return found["items"] if status == 200 else []


def _serving(revision: str) -> bool:
    return gitops_probes.served_revision()["revision"] == revision


def _revision_configmap(lab: Lab) -> dict[str, Any]:
    """The ConfigMap the leading reconciler applies (``{}`` when it cannot be read)."""
    status, found = cp_probes.admin_api(lab.state_dir).call(
        "GET", f"/api/v1/namespaces/{reconciler.NAMESPACE}/configmaps/{reconciler.CONFIGMAP}")
    return found if status == 200 else {}


def _holder(lab: Lab, baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    return reconciler_holder(cp_probes.admin_api(lab.state_dir), baseline)


def test_killing_the_etcd_leader_elects_a_new_one_and_api_writes_succeed_while_users_are_served(
        lab: Lab, driver: LabDriver, tmp_path) -> None:
    baseline = etcd_leader(CP_ETCD)
    fault = EtcdLeaderKill({"endpoints": CP_ETCD, "processes": _processes(lab)})
    with Probe(interval_s=0.05, workers=2) as reads, ApiWrites(lab) as writes:
        time.sleep(1.0)
        with injected(fault, ledger=Ledger(tmp_path / "ledger")):
            t0 = time.monotonic()
            elected, detection_s = wait_for(lambda: etcd_leader(CP_ETCD, baseline)["detected"], 10, 0.02)
            assert elected, f"no new etcd leader: {etcd_leader(CP_ETCD)}"
            written, _ = wait_for(lambda: writes.first_ok_answered_after(t0 + detection_s), 10, 0.05)
            assert written, writes.results[-5:]
            time.sleep(1.0)
            new = etcd_leader(CP_ETCD)
        first_write_s = writes.first_ok_answered_after(t0) - t0
        slowest_s = writes.slowest_since(t0 - 1.0)
        failed_writes = writes.failed_since(t0 - 1.0)
        failed_reads = reads.failed
    assert new["leader"] != baseline["leader"] and new["raft_term"] > baseline["raft_term"]
    print(f"\netcd leader {baseline['leader']} SIGKILLed: new leader {new['leader']} after {detection_s:.2f}s; "
          f"first API write through the LB acknowledged {first_write_s:.2f}s after t0 (slowest write "
          f"{slowest_s:.2f}s); {len(failed_writes)}/{len(writes.results)} API writes failed; "
          f"{len(failed_reads)}/{len(reads.results)} user reads failed (goal 0)")
    assert detection_s < 3.0
    assert not failed_reads, failed_reads[:5]
    assert len(failed_writes) <= 5, failed_writes[:5]


def test_killing_the_lease_holding_kube_scheduler_lets_the_standby_take_the_lease_and_bind_pods(
        lab: Lab, driver: LabDriver, tmp_path) -> None:
    api = cp_probes.admin_api(lab.state_dir)
    baseline = kube_lease(api, "kube-scheduler")
    assert baseline["held"], baseline
    name = f"after-the-scheduler-kill-{int(time.time())}"
    with injected(ActiveSchedulerKill({"processes": _processes(lab)}), ledger=Ledger(tmp_path / "ledger")):
        t0 = time.monotonic()
        status, created = api.call("POST", f"/api/v1/namespaces/{cp_layout.APP_NAMESPACE}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "zerospof.local/none"}]}})
        assert status == 201, created
        took, takeover_s = wait_for(lambda: kube_lease(api, "kube-scheduler", baseline)["detected"], 20, 0.05)
        assert took, f"the standby never took the Lease: {kube_lease(api, 'kube-scheduler')}"
        holder = kube_lease(api, "kube-scheduler")["component"]
        node, _ = wait_for(lambda: _pod(lab, name).get("spec", {}).get("nodeName"), 20, 0.1)
        bound_s = time.monotonic() - t0
    api.call("DELETE", f"/api/v1/namespaces/{cp_layout.APP_NAMESPACE}/pods/{name}")  # its node agent finishes it
    print(f"\nkube-scheduler {baseline['component']} SIGKILLed: {holder} took the Lease after {takeover_s:.2f}s "
          f"(lease {cp_layout.LEASE_DURATION_S} s) and bound a pod created after the kill to {node} {bound_s:.2f}s "
          "after it")
    assert holder != baseline["component"] and node
    assert takeover_s < cp_layout.LEASE_DURATION_S + 4.0


def test_killing_the_lease_holding_kube_controller_manager_lets_the_standby_replace_a_deleted_app_pod(
        lab: Lab, driver: LabDriver, tmp_path) -> None:
    api = cp_probes.admin_api(lab.state_dir)
    baseline = kube_lease(api, "kube-controller-manager")
    assert baseline["held"], baseline
    victim = _app_pods(lab)[0]["metadata"]["name"]
    with injected(ActiveControllerManagerKill({"processes": _processes(lab)}), ledger=Ledger(tmp_path / "ledger")):
        t0 = time.monotonic()
        status, _ = api.call("DELETE", f"/api/v1/namespaces/{cp_layout.APP_NAMESPACE}/pods/{victim}")
        assert status == 200
        took, takeover_s = wait_for(lambda: kube_lease(api, "kube-controller-manager", baseline)["detected"], 20, 0.05)
        assert took, f"the standby never took the Lease: {kube_lease(api, 'kube-controller-manager')}"
        holder = kube_lease(api, "kube-controller-manager")["component"]
        available, _ = wait_for(lambda: victim not in {p["metadata"]["name"] for p in _app_pods(lab)}
                                and cp_probes.workloads(lab.state_dir)["ok"], 30, 0.2)
        available_s = time.monotonic() - t0
    print(f"\nkube-controller-manager {baseline['component']} SIGKILLed and app pod {victim} deleted: {holder} took "
          f"the Lease after {takeover_s:.2f}s; the Deployment had every replica available again (a new pod) "
          f"{available_s:.2f}s after the kill")
    assert holder != baseline["component"] and available, cp_probes.workloads(lab.state_dir)
    assert takeover_s < cp_layout.LEASE_DURATION_S + 4.0


def test_killing_the_active_reconciler_hands_over_and_a_canary_pushed_after_the_fault_is_served(
        lab: Lab, driver: LabDriver, tmp_path) -> None:
    baseline = _holder(lab)
    assert baseline["holder"] in ("gitops-primary", "gitops-secondary")
    fault = ActiveReconcilerKill({"processes": _processes(lab)})
    with injected(fault, ledger=Ledger(tmp_path / "ledger")):
        pushed_at = time.monotonic()
        revision, host = gitops_probes.commit_canary("test-reconciler-kill")
        pushed_s = time.monotonic() - pushed_at
        acknowledged = time.monotonic()
        took, takeover_s = wait_for(lambda: _holder(lab, baseline)["detected"], 10, 0.02)
        assert took, "no reconciler took the GitOps lease"
        served, _ = wait_for(lambda: _serving(revision), 15, 0.05)
        delay_s = time.monotonic() - acknowledged
        holder = _holder(lab)["holder"]
    print(f"\nactive reconciler {baseline['holder']} SIGKILLed: {holder} took the lease after {takeover_s:.2f}s; "
          f"canary pushed to the {host} host in {pushed_s:.2f}s, served by every replica {delay_s:.2f}s after the "
          f"push was acknowledged (deployment delay)")
    assert served, gitops_probes.served_revision()
    assert fault.undo["killed"] == [baseline["holder"]] and holder != baseline["holder"] and host == "primary"
    assert delay_s < 10.0


def test_with_the_primary_git_host_unreachable_the_backup_applies_from_the_mirror(
        lab: Lab, driver: LabDriver, tmp_path) -> None:
    primary = gitops_layout.GIT_PLACES["primary"]
    with injected(GitHostUnreachable({}), ledger=Ledger(tmp_path / "ledger")):
        assert link_is_up(primary.namespace, primary.device) is False
        backup, takeover_s = wait_for(lambda: _holder(lab)["holder"] == "gitops-backup", 20, 0.05)
        assert backup, f"the backup never led: {_holder(lab)}"
        pushed_at = time.monotonic()
        revision, host = gitops_probes.commit_canary("test-git-host-cut")
        acknowledged = time.monotonic()
        served, _ = wait_for(lambda: _serving(revision), 15, 0.05)
        delay_s = time.monotonic() - acknowledged
        assert served, gitops_probes.served_revision()
        record = _revision_configmap(lab).get("data", {})
    print(f"\nprimary git host cut: gitops-backup leads {takeover_s:.2f}s after t0; canary pushed to the {host} "
          f"(primary tried first, {acknowledged - pushed_at:.2f}s to the acknowledged push) and served "
          f"{delay_s:.2f}s later, applied from {record.get('source')}")
    assert host == "mirror"
    assert record["applied_by"] == "gitops-backup" and record["source"] == gitops_layout.git_url("mirror")
    assert record["revision"] == revision
    assert link_is_up(primary.namespace, primary.device) is True
    # the mirror carries the commit users pushed to it back to the primary once it answers again
    back, back_s = wait_for(lambda: gitops_probes.head_revision(lab.state_dir, "primary")[1] == revision, 15, 0.1)
    print(f"the canary reached the primary host {back_s:.2f}s after the revert")
    assert back


def test_revert_from_the_ledger_restarts_every_killed_member_and_the_lab_heals(
        lab: Lab, driver: LabDriver, tmp_path) -> None:
    ledger = Ledger(tmp_path / "ledger")
    records = []
    try:  # inside: a fault that fails to apply still leaves the one before it in the ledger, reverted below
        for scenario in ("gitops", "control-plane"):  # GitOps first: it finds its lease holder through the API,
            records.append(apply(driver.fault(scenario, {}), ledger))  # which the control-plane fault stops a while
        killed = [name for record in records for part in record.data["undo"].values()
                  if isinstance(part, dict) for name in part.get("killed", [])]
        states = lab.supervisor.status()
        assert len(killed) == 5 and not any(states[name]["running"] for name in killed), killed
        assert not lab.status()["healthy"]
    finally:
        reports = ledger.revert_open()  # from the records alone, as `zerospof revert` would
    assert all(report.reverted for report in reports), reports
    started = time.monotonic()
    healthy, healthy_s = wait_for(driver.healthy, 60, 0.25)
    restored, _ = wait_for(lambda: driver.restore() and driver.healthy(), 60, 0.25)
    states = lab.supervisor.status()
    print(f"\nkilled {killed} and cut git1; after the revert every member runs again and the lab is healthy "
          f"after {healthy_s:.1f}s, back in its reference state after {time.monotonic() - started:.1f}s")
    assert healthy and restored
    assert all(states[name]["running"] for name in killed)
    assert _holder(lab)["holder"] in ("gitops-primary", "gitops-secondary")


def test_a_hand_edited_revision_configmap_is_repaired_by_the_leader_and_every_replica_follows_the_object(
        lab: Lab, driver: LabDriver) -> None:
    """GitOps self-heal on the real API: an edit of the applied object (as ``kubectl edit`` would make it) is served
    by every replica, then put back to what git says by the leader; a stale update of the object gets 409."""
    api = cp_probes.admin_api(lab.state_dir)
    path = f"/api/v1/namespaces/{reconciler.NAMESPACE}/configmaps/{reconciler.CONFIGMAP}"
    before = _revision_configmap(lab)
    desired = before["data"]["revision"]
    status, edited = api.call("PUT", path, {**before, "data": {**before["data"], "revision": "hand-edited"}})
    assert status == 200, edited
    edited_at = time.monotonic()
    stale_status, _ = api.call("PUT", path, {**before, "data": {**before["data"], "revision": "stale"}})
    repaired, repaired_s = wait_for(lambda: _revision_configmap(lab).get("data", {}).get("revision") == desired, 10, 0.05)
    served, _ = wait_for(lambda: _serving(desired), 10, 0.05)
    after = _revision_configmap(lab)["data"]
    print(f"\nrevision ConfigMap edited by hand: put back to {desired!r} by {after['applied_by']} {repaired_s:.2f}s "
          f"later, served by every replica {time.monotonic() - edited_at:.2f}s after the edit; stale update: HTTP "
          f"{stale_status}")
    assert stale_status == 409
    assert repaired and served and after["applied_by"] == _holder(lab)["holder"]
