"""GitOps under faults: a primary git host in a scratch namespace, a mirror on 127.0.0.1 kept in
sync, a 1-member etcd for the leases, three stand-in app replicas and three reconcilers.

Everything runs under :class:`LocalProcesses`, is killed at the end, and the namespace is deleted.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.lab_part2.helpers import free_ports, http_json, scratch_place
from tests.lab_part2.local_processes import LocalProcesses
from zerospof.faults.ledger import Ledger
from zerospof.faults.link import link_is_up
from zerospof.faults.runner import apply, injected
from zerospof.lab.controlplane.etcd_cluster import EtcdMember, cluster_argvs
from zerospof.lab.controlplane.etcd_http import EtcdClient
from zerospof.lab.gitops import reconciler
from zerospof.lab.gitops.canary import commit_revision
from zerospof.lab.gitops.faults import ActiveReconcilerKill, GitHostUnreachable, GitOpsFailure
from zerospof.lab.gitops.repo import daemon_argv, init_repository
from zerospof.lab.gitops.signals import applied_revisions, mirror_lag, reconciler_holder

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_tools")]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GIT_PORT = 9418  # inside the scratch namespace, where nothing else listens
RECONCILERS = {"gitops-primary": "primary", "gitops-secondary": "secondary", "gitops-backup": "backup"}


@dataclass
class GitOps:
    processes: LocalProcesses
    endpoints: list[str]
    primary_url: str
    mirror_url: str
    mirror_status: Path
    apps: list[str]
    place: dict[str, str]
    ledger: Ledger

    def params(self, **extra: object) -> dict[str, object]:
        return {"endpoints": self.endpoints, "processes": self.processes.factory_params(), **extra}

    def git_host(self) -> dict[str, object]:
        return {"links": [{"namespace": self.place["namespace"], "device": self.place["device"]}],
                "address": self.place["address"], "port": GIT_PORT}

    def holder(self) -> str | None:
        return reconciler_holder(self.endpoints)["holder"]

    def serving(self, revision: str) -> bool:
        return bool(applied_revisions(self.apps, expected=revision)["detected"])

    def applied_record(self) -> dict[str, object]:
        found = EtcdClient(self.endpoints).get(reconciler.APPLIED_KEY)
        return json.loads(found.value) if found is not None else {}

    def all_running(self) -> bool:
        return all(state["running"] for state in self.processes.status().values())


@pytest.fixture(scope="module")
def gitops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitOps]:
    state = tmp_path_factory.mktemp("gitops")
    with scratch_place() as place:
        ports = free_ports(6)
        etcd = EtcdMember("gitops-etcd", "127.0.0.1", ports[0], ports[1], str(state / "etcd"))
        endpoints = [etcd.client_url]
        mirror_port, app_ports = ports[2], ports[3:6]
        primary_base, mirror_base = state / "primary", state / "mirror"
        init_repository(primary_base / "platform.git", "v0")
        mirror_base.mkdir()
        primary_url = f"git://{place['address']}:{GIT_PORT}/platform.git"
        mirror_url = f"git://127.0.0.1:{mirror_port}/platform.git"
        apps = [f"http://127.0.0.1:{port}" for port in app_ports]
        env = {"PYTHONPATH": str(PROJECT_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
        spec: dict[str, dict[str, object]] = {
            etcd.name: {"argv": cluster_argvs([etcd])[etcd.name]},
            "git-primary": {"argv": ["ip", "netns", "exec", place["namespace"],
                                     *daemon_argv(primary_base, place["address"], GIT_PORT, receive_pack=True)]},
            "git-mirror": {"argv": daemon_argv(mirror_base, "127.0.0.1", mirror_port, receive_pack=False)},
            "git-mirror-sync": {"env": env, "argv": [
                sys.executable, "-m", "zerospof.lab.gitops.mirror", f"--source={primary_url}",
                f"--mirror={mirror_base / 'platform.git'}", f"--status={state / 'mirror-status.json'}"]},
        }
        for index, port in enumerate(app_ports):
            spec[f"app-{index}"] = {"env": env, "argv": [sys.executable, "-m", "tests.lab_part2.revision_app",
                                                         f"--zone=app-{index}", f"--listen=127.0.0.1:{port}"]}
        for name, role in RECONCILERS.items():
            spec[name] = {"env": env, "argv": [
                sys.executable, "-m", "zerospof.lab.gitops.reconciler", f"--name={name}", f"--role={role}",
                f"--git-url={mirror_url if role == 'backup' else primary_url}", f"--etcd={endpoints[0]}",
                f"--apps={','.join(apps)}", f"--work-dir={state / 'work'}"]}
        processes = LocalProcesses.create(state, spec)
        plane = GitOps(processes, endpoints, primary_url, mirror_url, state / "mirror-status.json", apps, place,
                       Ledger(state / "ledger"))
        try:
            processes.start([name for name in spec if name not in RECONCILERS])
            assert wait_for(lambda: mirror_lag(plane.mirror_status).get("sync_ok"), 15)[0], "the mirror never synced"
            processes.start(["gitops-primary"])  # first, so that it is the one leading at the start
            assert wait_for(lambda: plane.holder() == "gitops-primary", 15)[0]
            processes.start(["gitops-secondary", "gitops-backup"])
            assert wait_for(lambda: plane.serving("v0"), 10)[0]
            yield plane
        finally:
            processes.shutdown()


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
    assert record["commit"] == canary.commit and record["by"] == gitops.holder()
    figure("gitops: deployment delay, no fault (push -> every replica serves it)", delay_s, "s")
    figure("gitops: mirror has the canary commit after the push", time.monotonic() - canary.pushed_monotonic, "s")


def test_killing_the_active_reconciler_hands_over_and_a_canary_pushed_after_the_fault_is_served(
        gitops: GitOps, figure: Callable[[str, float, str], None]) -> None:
    _lead_from_the_primary_host(gitops)
    baseline = reconciler_holder(gitops.endpoints)
    fault = ActiveReconcilerKill(gitops.params())
    with injected(fault, ledger=gitops.ledger):
        canary = commit_revision(gitops.primary_url)
        taken, takeover_s = wait_for(lambda: reconciler_holder(gitops.endpoints, baseline)["detected"], 10, 0.02)
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
        for app in gitops.apps:  # drift: the leader must put the desired state back, from the mirror
            assert http_json("PUT", f"{app}/revision", {"revision": "drifted"})[0] == 200
        drifted_at = time.monotonic()
        restored, _ = wait_for(lambda: gitops.serving(desired), 10, 0.02)
        repair_s = time.monotonic() - drifted_at
        assert restored, applied_revisions(gitops.apps)
        assert wait_for(lambda: gitops.applied_record().get("by") == "gitops-backup", 5)[0]
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
