"""GitOps under faults: a primary git host in a scratch namespace, a mirror on 127.0.0.1 kept in
sync, the session's real Kubernetes API (``kube_control_plane``) for the reconcilers' Lease and the revision
ConfigMap (with the lab's RBAC, in a namespace of this module), three real app replicas (``zerospof.lab.app``,
serving the ConfigMap's revision; no database behind them) and three reconcilers.

Everything runs under :class:`LocalProcesses`, is killed at the end; the namespaces are deleted.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.k8s.fixtures import RealKube
from tests.lab_part2.helpers import free_ports, scratch_place
from tests.lab_part2.local_processes import LocalProcesses
from zerospof.faults.ledger import Ledger
from zerospof.faults.link import link_is_up
from zerospof.faults.runner import apply, injected
from zerospof.lab.controlplane.layout import APP_USER, GITOPS_USER
from zerospof.lab.gitops import reconciler
from zerospof.lab.gitops.canary import commit_revision
from zerospof.lab.gitops.faults import ActiveReconcilerKill, GitHostUnreachable, GitOpsFailure
from zerospof.lab.gitops.repo import daemon_argv, init_repository
from zerospof.lab.gitops.signals import applied_revisions, mirror_lag, reconciler_holder
from zerospof.lab.kube.api import KubeApi
from zerospof.lab.kube.workload import rbac

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_tools")]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GIT_PORT = 9418  # inside the scratch namespace, where nothing else listens
RECONCILERS = {"gitops-primary": "primary", "gitops-secondary": "secondary", "gitops-backup": "backup"}
NAMESPACE = "zerospof-gitops-test"


@dataclass
class GitOps:
    processes: LocalProcesses
    api: KubeApi
    admin_kubeconfig: Path
    primary_url: str
    mirror_url: str
    mirror_status: Path
    apps: list[str]
    place: dict[str, str]
    ledger: Ledger

    def params(self, **extra: object) -> dict[str, object]:
        return {"processes": self.processes.factory_params(), "kubeconfig": str(self.admin_kubeconfig),
                "namespace": NAMESPACE, **extra}

    def git_host(self) -> dict[str, object]:
        return {"links": [{"namespace": self.place["namespace"], "device": self.place["device"]}],
                "address": self.place["address"], "port": GIT_PORT}

    def lease(self, baseline: dict[str, Any] | None = None) -> dict[str, Any]:
        return reconciler_holder(self.api, baseline, NAMESPACE)

    def holder(self) -> str | None:
        return self.lease()["holder"]

    def serving(self, revision: str) -> bool:
        return bool(applied_revisions(self.apps, expected=revision)["detected"])

    def configmap(self) -> dict[str, Any]:
        status, found = self.api.call("GET", f"/api/v1/namespaces/{NAMESPACE}/configmaps/{reconciler.CONFIGMAP}")
        return found if status == 200 else {}

    def applied_record(self) -> dict[str, str]:
        return self.configmap().get("data") or {}

    def all_running(self) -> bool:
        return all(state["running"] for state in self.processes.status().values())


@pytest.fixture(scope="module")
def gitops(tmp_path_factory: pytest.TempPathFactory, kube_control_plane: RealKube) -> Iterator[GitOps]:
    state = tmp_path_factory.mktemp("gitops")
    control_plane = kube_control_plane.control_plane
    admin = control_plane.write_kubeconfig(state / "admin.kubeconfig")
    api = KubeApi.from_kubeconfig(admin)
    for path, body in [("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": NAMESPACE}}), *rbac(NAMESPACE)]:
        status, answer = api.call("POST", path, body)
        assert status == 201, answer
    gitops_kubeconfig = control_plane.write_kubeconfig(state / "gitops.kubeconfig", user=GITOPS_USER, groups=())
    app_kubeconfig = control_plane.write_kubeconfig(state / "app.kubeconfig", user=APP_USER, groups=())
    try:
        with scratch_place() as place:
            ports = free_ports(4)
            mirror_port, app_ports = ports[0], ports[1:4]
            primary_base, mirror_base = state / "primary", state / "mirror"
            init_repository(primary_base / "platform.git", "v0")
            mirror_base.mkdir()
            primary_url = f"git://{place['address']}:{GIT_PORT}/platform.git"
            mirror_url = f"git://127.0.0.1:{mirror_port}/platform.git"
            apps = [f"http://127.0.0.1:{port}" for port in app_ports]
            env = {"PYTHONPATH": str(PROJECT_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
            spec: dict[str, dict[str, object]] = {
                "git-primary": {"argv": ["ip", "netns", "exec", place["namespace"],
                                         *daemon_argv(primary_base, place["address"], GIT_PORT, receive_pack=True)]},
                "git-mirror": {"argv": daemon_argv(mirror_base, "127.0.0.1", mirror_port, receive_pack=False)},
                "git-mirror-sync": {"env": env, "argv": [
                    sys.executable, "-m", "zerospof.lab.gitops.mirror", f"--source={primary_url}",
                    f"--mirror={mirror_base / 'platform.git'}", f"--status={state / 'mirror-status.json'}"]},
            }
            for zone, port in zip(("r1-a", "r1-b", "r2-a"), app_ports):
                spec[f"app-{zone}"] = {"env": env, "argv": [
                    sys.executable, "-m", "zerospof.lab.app", f"--zone={zone}", f"--listen=127.0.0.1:{port}",
                    "--db-hosts=127.0.0.1", f"--kubeconfig={app_kubeconfig}",
                    f"--revision-configmap={NAMESPACE}/{reconciler.CONFIGMAP}"]}
            for name, role in RECONCILERS.items():
                spec[name] = {"env": env, "argv": [
                    sys.executable, "-m", "zerospof.lab.gitops.reconciler", f"--name={name}", f"--role={role}",
                    f"--git-url={mirror_url if role == 'backup' else primary_url}",
                    f"--kubeconfig={gitops_kubeconfig}", f"--namespace={NAMESPACE}", f"--work-dir={state / 'work'}"]}
            processes = LocalProcesses.create(state, spec)
            plane = GitOps(processes, api, admin, primary_url, mirror_url, state / "mirror-status.json", apps, place,
                           Ledger(state / "ledger"))
            try:
                processes.start([name for name in spec if name not in RECONCILERS])
                assert wait_for(lambda: mirror_lag(plane.mirror_status).get("sync_ok"), 15)[0], "the mirror never synced"
                processes.start(["gitops-primary"])  # first, so that it is the one leading at the start
                assert wait_for(lambda: plane.holder() == "gitops-primary", 15)[0], plane.lease()
                processes.start(["gitops-secondary", "gitops-backup"])
                assert wait_for(lambda: plane.serving("v0"), 10)[0], applied_revisions(apps)
                yield plane
            finally:
                processes.shutdown()
    finally:
        api.call("DELETE", f"/api/v1/namespaces/{NAMESPACE}")


def _lead_from_the_primary_host(plane: GitOps) -> None:
    """Hand leadership back to a reconciler that reads the primary host (SIGTERM the backup if it leads)."""
    if plane.holder() == "gitops-backup":
        plane.processes.signal(["gitops-backup"], signal.SIGTERM)
        assert wait_for(lambda: plane.holder() in ("gitops-primary", "gitops-secondary"), 10)[0]
        plane.processes.start(["gitops-backup"])


def test_a_canary_commit_is_served_by_every_replica_and_mirrored(
        gitops: GitOps, figure: Callable[[str, float, str], None]) -> None:
    canary = commit_revision(gitops.primary_url)
    served, _ = wait_for(lambda: gitops.serving(canary.revision), 10, 0.02)
    delay_s = time.monotonic() - canary.pushed_monotonic
    assert served
    mirrored, mirror_s = wait_for(lambda: mirror_lag(gitops.mirror_status)["synced_commit"] == canary.commit, 5, 0.02)
    assert mirrored
    lag = mirror_lag(gitops.mirror_status, gitops.primary_url)
    assert lag["in_sync"] and lag["sync_ok"]
    record = gitops.applied_record()
    assert record["commit"] == canary.commit and record["applied_by"] == gitops.holder()
    figure("gitops: deployment delay, no fault (push -> every replica serves it)", delay_s, "s")
    figure("gitops: mirror has the canary commit after the push", time.monotonic() - canary.pushed_monotonic, "s")


def test_killing_the_active_reconciler_hands_over_and_a_canary_pushed_after_the_fault_is_served(
        gitops: GitOps, figure: Callable[[str, float, str], None]) -> None:
    _lead_from_the_primary_host(gitops)
    baseline = gitops.lease()
    fault = ActiveReconcilerKill(gitops.params())
    with injected(fault, ledger=gitops.ledger):
        canary = commit_revision(gitops.primary_url)
        taken, takeover_s = wait_for(lambda: gitops.lease(baseline)["detected"], 10, 0.02)
        assert taken, "no reconciler took the lease"
        served, _ = wait_for(lambda: gitops.serving(canary.revision), 10, 0.02)
        delay_s = time.monotonic() - canary.pushed_monotonic
        assert served, applied_revisions(gitops.apps)
        new_holder = gitops.holder()
    assert fault.undo["killed"] == [baseline["holder"]] and new_holder != baseline["holder"]
    figure("gitops: another reconciler holds the lease after SIGKILL of the active one", takeover_s, "s")
    figure("gitops: deployment delay of a canary pushed right after the kill", delay_s, "s")
    assert wait_for(gitops.all_running, 5)[0]


def test_with_the_primary_git_host_unreachable_the_backup_applies_from_the_mirror(
        gitops: GitOps, figure: Callable[[str, float, str], None]) -> None:
    _lead_from_the_primary_host(gitops)
    assert wait_for(lambda: mirror_lag(gitops.mirror_status, gitops.primary_url)["in_sync"], 5)[0]
    desired = applied_revisions(gitops.apps)["revisions"][gitops.apps[0]]
    fault = GitHostUnreachable(gitops.git_host())
    with injected(fault, ledger=gitops.ledger):
        assert link_is_up(gitops.place["namespace"], "eth0") is False
        backup, takeover_s = wait_for(lambda: gitops.holder() == "gitops-backup", 15, 0.05)
        assert backup, f"the backup never led; holder: {gitops.holder()}"
        # drift: the applied object edited by hand; the leader must put the desired state back, from the mirror
        found = gitops.configmap()
        status, _ = gitops.api.call("PUT", f"/api/v1/namespaces/{NAMESPACE}/configmaps/{reconciler.CONFIGMAP}",
                                    {**found, "data": {**found["data"], "revision": "drifted"}})
        assert status == 200
        drifted_at = time.monotonic()
        assert wait_for(lambda: gitops.applied_record().get("revision") == desired, 10, 0.02)[0]
        restored, _ = wait_for(lambda: gitops.serving(desired), 10, 0.02)
        repair_s = time.monotonic() - drifted_at
        assert restored, applied_revisions(gitops.apps)
        assert gitops.applied_record()["applied_by"] == "gitops-backup"
        assert gitops.applied_record()["source"] == gitops.mirror_url
        lag = mirror_lag(gitops.mirror_status)
        assert not lag["sync_ok"] and lag["error"]
    figure("gitops: backup holds the lease after the primary git host became unreachable", takeover_s, "s")
    figure("gitops: backup repaired drift from the mirror", repair_s, "s")
    figure("gitops: mirror age (since its last successful sync) at the end of the outage", lag["age_s"], "s")
    assert link_is_up(gitops.place["namespace"], "eth0") is True
    assert wait_for(lambda: mirror_lag(gitops.mirror_status)["sync_ok"], 5)[0]


def test_gitops_fault_kills_the_reconciler_and_cuts_git_and_its_record_reverts_both(
        gitops: GitOps, figure: Callable[[str, float, str], None]) -> None:
    _lead_from_the_primary_host(gitops)
    fault = GitOpsFailure(gitops.params(git_host=gitops.git_host()))
    apply(fault, gitops.ledger)  # reverted below from the ledger record alone, as `zerospof revert` would
    try:
        killed = fault.undo["reconciler"]["killed"]
        assert len(killed) == 1 and not gitops.processes.status()[killed[0]]["running"]
        assert wait_for(lambda: gitops.holder() == "gitops-backup", 15, 0.05)[0]
    finally:
        reports = gitops.ledger.revert_open()
    assert [report.reverted for report in reports] == [True], reports
    assert wait_for(gitops.all_running, 5)[0]
    assert link_is_up(gitops.place["namespace"], "eth0") is True
    gitops.ledger.records()[-1].fault().revert()  # once more: idempotent
    back, back_s = wait_for(lambda: mirror_lag(gitops.mirror_status, gitops.primary_url)["in_sync"], 10)
    assert back, "the primary git host did not answer again (or the mirror did not catch up) after revert"
    figure("gitops: primary git host answers and the mirror is in sync after revert", back_s, "s")
    canary = commit_revision(gitops.primary_url)
    served, _ = wait_for(lambda: gitops.serving(canary.revision), 10, 0.02)
    assert served
    figure("gitops: deployment delay after revert (backup still leads, via the mirror)",
           time.monotonic() - canary.pushed_monotonic, "s")
