"""``experiments/aws/gitops.yaml`` run through chaoslib, as ``chaos run`` would: deployment delay on AWS.

AWS is moto (the account check), the user-facing endpoint a real HTTP server on 127.0.0.1, the
GitOps remote a local bare git repository (``file://``), and Kubernetes a real API server
(``tests/k8s/fixtures.py``). Nothing runs Argo CD: :class:`SimulatedArgoController`
(a fake) plays its standby application controller, so what is measured is what it did, at the
time it did it.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.aws.git_world import CANARY_FILE, INITIAL_REVISION, OTHER_FILE, RPO_BRANCH, BareRemote, canary_section, make_remote
from tests.aws.moto_world import REGION, target_document, write_target
from tests.k8s.cluster import TestCluster
from tests.k8s.control_plane import CONTEXT
from tests.k8s.world import build_cluster, lease, set_lease_holder, set_synced_revision
from zerospof.aws import driver as aws_driver
from zerospof.aws.driver import AwsDriver
from zerospof.aws.git_rpo_canary import GitRpoCanary
from zerospof.aws.target import load_aws_target
from zerospof.chaos.runner import ScenarioResult, run_experiment_file
from zerospof.errors import TargetError
from zerospof.faults import Ledger
from zerospof.k8s.scale import ScaleWorkload
from zerospof.objectives import load_objectives
from zerospof.scenario import OBSERVER
from zerospof.timeline import EventKind, Timeline

REPO = Path(__file__).resolve().parents[2]
DEPLOY_DELAY_S = 1.5  # how long the simulated controller takes to apply a new commit
SUSTAINED_S = 5.0  # wait-for-takeover's sustained_s in experiments/aws/gitops.yaml
TAKEOVER_DELAY_S = 1.0  # the active controller's Lease expiring (15 s on a real cluster)
LEASE = ("argocd", "argocd-application-controller")
CONTROLLER = ("argocd", "argocd-application-controller")  # the active controller's statefulset
ACTIVE, STANDBY = "argocd-application-controller-0_4f1c", "argocd-application-controller-1_9e2d"
ARGO_SERVED = {"argocd_application": {"cluster": "primary", "name": "platform"}}
RPO_PUSH_INTERVAL_S = 0.2  # the RPO canary's 1 s, made shorter so that several pushes are acknowledged before t0
READ_BACK_MARGIN_S = 1.0  # pushes acknowledged this long before the read-back event: before the read-back began


class SimulatedArgoController(threading.Thread):
    """A FAKE Argo CD standby application controller, polling every 50 ms.

    ``TAKEOVER_DELAY_S`` after the active controller's statefulset is scaled to 0 (its Lease
    expired) it takes the Lease; while it holds it, a new commit on the remote's ``main`` is applied ``DEPLOY_DELAY_S`` after it first saw
    it: the Application's ``status.sync.revision`` becomes that commit. ``applied`` keeps
    ``(commit, monotonic time it was applied)``.
    """

    def __init__(self, cluster: TestCluster, remote: BareRemote) -> None:
        super().__init__(name="simulated-argo-controller", daemon=True)
        self.cluster, self.remote = cluster, remote
        self.applied: list[tuple[str, float]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        deployed, seen_since, active_gone_since = self.remote.tip(), None, None
        while not self.stopped.wait(0.05):
            controller = self.cluster.get("statefulsets", *CONTROLLER)
            holding = self.cluster.get("leases", *LEASE)["spec"]["holderIdentity"] == STANDBY
            if controller["spec"]["replicas"] == 0 and not holding:
                active_gone_since = active_gone_since or time.monotonic()
                if time.monotonic() - active_gone_since >= TAKEOVER_DELAY_S:
                    set_lease_holder(self.cluster, *LEASE, STANDBY)  # read, then replace at that resourceVersion
                    holding = True
            if not holding:
                continue
            try:
                tip = self.remote.tip()
            except subprocess.CalledProcessError:
                continue  # a push in progress
            if tip == deployed:
                continue
            seen_since = seen_since or time.monotonic()
            if time.monotonic() - seen_since >= DEPLOY_DELAY_S:
                set_synced_revision(self.cluster, "platform", tip)
                self.applied.append((tip, time.monotonic()))
                deployed, seen_since = tip, None


def after_the_scale_down(monkeypatch: pytest.MonkeyPatch, callback: Callable[[], None]) -> None:
    """Run ``callback`` once, as soon as the API server has answered the request that scales the active controller
    to 0: inside the fault's injection (``ScaleWorkload.inject``), before it is verified."""
    inject, done = ScaleWorkload.inject, []

    def inject_then_callback(fault: ScaleWorkload) -> None:
        inject(fault)
        if not done:
            done.append(True)
            callback()
    monkeypatch.setattr(ScaleWorkload, "inject", inject_then_callback)


class InstantStandbyTakeover:
    """A FAKE standby that takes the Lease the moment the request scaling the active controller to 0 is answered.

    So the takeover happens while the fault is being injected: before it is verified, before the
    canary commit, and before ``wait-for-takeover`` first asks whether the target recovered.
    ``taken_at_wall`` is when it did (epoch seconds).
    """

    def __init__(self, cluster: TestCluster, monkeypatch: pytest.MonkeyPatch) -> None:
        self.taken_at_wall: float | None = None

        def take() -> None:
            set_lease_holder(cluster, *LEASE, STANDBY)
            self.taken_at_wall = time.time()
        after_the_scale_down(monkeypatch, take)


class GitHostFailoverThatLosesPushes:
    """A FAKE git host failover, the moment the request scaling the active controller to 0 is answered (before t0).

    The host comes back from a replica that lagged ``lost`` commits behind: the RPO branch moves
    back ``lost`` commits (once the run pushed more than that). The canary's pushes are held
    meanwhile, so none is in flight across the failover. ``lost_seqs``: the seqs of what it lost.
    """

    def __init__(self, remote: BareRemote, monkeypatch: pytest.MonkeyPatch, lost: int = 2) -> None:
        self.lost_seqs: list[int] | None = None
        held = threading.Lock()
        write = GitRpoCanary.write

        def held_write(canary: GitRpoCanary) -> dict[str, Any]:
            with held:
                return write(canary)

        def fail_over() -> None:
            deadline = time.monotonic() + 5.0
            while len(remote.history(RPO_BRANCH)) <= lost and time.monotonic() < deadline:
                time.sleep(0.05)
            with held:
                dropped = remote.history(RPO_BRANCH)[:lost]
                remote.lose_commits(RPO_BRANCH, lost)
            self.lost_seqs = sorted(int(c.trailers["Zerospof-Seq"]) for c in dropped)
        monkeypatch.setattr(GitRpoCanary, "write", held_write)
        after_the_scale_down(monkeypatch, fail_over)


def acked_seqs(timeline: Timeline, until: float = float("inf")) -> list[int]:
    """The write canary's acknowledged seqs (of samples stamped at or before ``until``), as the timeline recorded them."""
    return [s.value["seq"] for s in timeline.samples_of("write-canary") if s.ok and s.t_mono <= until]


def gitops_world(cluster: TestCluster, remote: BareRemote) -> None:
    """The cluster (with the Application ``platform``), the active controller's Lease, the Application synced at the remote's tip."""
    build_cluster(cluster)
    cluster.add(lease(*LEASE, ACTIVE))
    set_synced_revision(cluster, "platform", remote.tip())


def gitops_target(tmp_path: Path, kubeconfig_path: str, endpoint_url: str, canary: dict | None) -> Path:
    document = target_document(endpoints=[{"name": "app", "url": endpoint_url}])
    document["kubernetes"] = {"allowed_contexts": [CONTEXT], "clusters": [
        {"name": "primary", "context": CONTEXT, "region": REGION, "kubeconfig": kubeconfig_path}]}
    document["gitops"] = {
        "controllers": [{"name": "argocd-primary", "cluster": "primary", "engine": "argocd", "namespace": "argocd",
                         "workload": {"kind": "statefulset", "name": "argocd-application-controller"},
                         "lease": {"namespace": LEASE[0], "name": LEASE[1]}}],
        "applications": [{"cluster": "primary", "name": "platform"}],
    }
    if canary is not None:
        document["gitops"]["canary"] = canary
    document["scenarios"]["gitops"] = {"controller": "argocd-primary"}
    return write_target(tmp_path, document)


def run_gitops(tmp_path: Path, target: Path, cluster: TestCluster, remote: BareRemote) -> tuple[ScenarioResult, SimulatedArgoController]:
    controller = SimulatedArgoController(cluster, remote)
    controller.start()
    try:
        result = run_experiment_file(REPO / "experiments" / "aws" / "gitops.yaml", {
            "zerospof_target": str(target),
            "zerospof_objectives": str(REPO / "objectives.yaml"),
            "zerospof_ledger_dir": str(tmp_path / "ledger"),
            "zerospof_run_dir": str(tmp_path / "run"),
            "zerospof_recovery_timeout": "20s",
            "zerospof_baseline": "500ms",
            "zerospof_settle": "500ms",
        })
    finally:
        controller.stopped.set()
        controller.join(5)
    return result, controller


def test_deployment_delay_on_aws_is_from_the_canary_push_to_the_argo_cd_sync_of_that_commit(
        aws, endpoint, cluster, kubeconfig, tmp_path):  # noqa: F811
    remote = make_remote(tmp_path)
    gitops_world(cluster, remote)
    first_commit = remote.tip()
    target = gitops_target(tmp_path, kubeconfig, endpoint.url, canary_section(remote, RPO_BRANCH, **ARGO_SERVED))

    result, controller = run_gitops(tmp_path, target, cluster, remote)

    report, timeline = result.report, result.timeline()
    conditions = {c["name"]: c["passed"] for c in report["conditions"]}
    assert conditions["fault-in-effect"] and conditions["method-succeeded"] and conditions["fault-reverted"]
    [commit_event] = [e for e in timeline.events if e.kind == EventKind.CANARY_COMMIT]
    canary_commit = remote.tip()
    assert remote.parents(canary_commit) == [first_commit] and remote.changed_files(first_commit, canary_commit) == [CANARY_FILE]
    assert remote.read(canary_commit) == f"{commit_event.data['revision']}\n"
    [(applied_commit, applied_at)] = controller.applied
    assert applied_commit == canary_commit

    samples = timeline.samples_of("served-revision")
    assert samples[0].value["revision"] == INITIAL_REVISION and samples[0].value["argocd"]["commit"] == first_commit
    delay = report["measurements"]["deployment_delay_s"]
    resolution = delay["resolution_s"]
    assert resolution is not None and resolution <= 0.6
    assert abs(delay["value"] - (applied_at - commit_event.t_mono)) <= resolution + 0.2  # what happened, to a sample
    assert delay["value"] >= DEPLOY_DELAY_S - resolution
    delivery_rto = report["measurements"]["rto_s"]
    assert delivery_rto["detail"]["revision"] == commit_event.data["revision"]
    assert abs(delivery_rto["value"] - (applied_at - timeline.t0())) <= resolution + 0.2
    [check] = [c for c in report["checks"] if c["measurement"] == "deployment_delay_s"]
    assert check["passed"] is True and check["measured"] == delay["value"]
    assert cluster.get("statefulsets", "argocd", "argocd-application-controller")["spec"]["replicas"] == 1
    assert Ledger(tmp_path / "ledger").open_records() == []


def test_without_a_gitops_canary_deployment_delay_on_aws_is_not_measured_and_the_run_says_why(
        aws, endpoint, cluster, kubeconfig, tmp_path):  # noqa: F811
    remote = make_remote(tmp_path)
    gitops_world(cluster, remote)
    before = remote.refs()
    target = gitops_target(tmp_path, kubeconfig, endpoint.url, canary=None)

    result, controller = run_gitops(tmp_path, target, cluster, remote)

    report, timeline = result.report, result.timeline()
    assert timeline.t0() is not None and controller.applied == [] and remote.refs() == before
    assert not any(e.kind == EventKind.CANARY_COMMIT for e in timeline.events)
    assert timeline.samples_of("served-revision") == []
    [check] = [c for c in report["checks"] if c["measurement"] == "deployment_delay_s"]
    assert check["passed"] is False and check["measured"] is None and "not measured" in check["message"]
    assert report["measurements"]["deployment_delay_s"]["value"] is None  # never 0
    rto = {c["measurement"]: c for c in report["checks"]}["rto_s"]  # the delivery RTO, not the users' 0
    assert rto["passed"] is False and rto["measured"] is None
    assert "no canary commit" in report["measurements"]["rto_s"]["detail"]["reason"]
    [commit_run] = [r for r in result.journal["run"] if r["activity"]["name"] == "commit-gitops-canary"]
    assert commit_run["status"] == "failed"
    assert "has no gitops.canary: deployment delay and the delivery RTO cannot be measured" in commit_run["exception"][-1]
    method = {c["name"]: c for c in report["conditions"]}["method-succeeded"]
    assert method["passed"] is False and "commit-gitops-canary" in method["message"]


def test_the_gitops_monitors_sample_the_served_revision_and_refuse_a_canary_file_the_branch_lacks_before_any_fault(
        aws, endpoint, cluster, kubeconfig, tmp_path):  # noqa: F811
    remote = make_remote(tmp_path)
    gitops_world(cluster, remote)
    objectives = load_objectives(REPO / "objectives.yaml")
    section = canary_section(remote, argocd_application={"cluster": "primary", "name": "platform"})
    driver = AwsDriver(load_aws_target(gitops_target(tmp_path, kubeconfig, endpoint.url, section)))

    monitoring = driver.monitoring("gitops", Timeline(), objectives, "run-1")

    assert [s.name for s in monitoring.samplers] == ["availability", "signal:argocd-application", "signal:lease-holder",
                                                     "served-revision", OBSERVER]
    assert monitoring.samplers[-2].probe()["revision"] == INITIAL_REVISION
    for hook in monitoring.stop_hooks:
        hook()
    typo = {**section, "file": "deploy/canary-revison"}
    with pytest.raises(TargetError, match="'deploy/canary-revison' does not exist on the tip"):
        AwsDriver(load_aws_target(gitops_target(tmp_path, kubeconfig, endpoint.url, typo))).monitoring(
            "gitops", Timeline(), objectives, "run-1")


def test_a_standby_that_takes_the_lease_before_the_wait_begins_still_counts_as_the_takeover(
        aws, endpoint, cluster, kubeconfig, tmp_path, monkeypatch):  # noqa: F811
    remote = make_remote(tmp_path)
    gitops_world(cluster, remote)
    target = gitops_target(tmp_path, kubeconfig, endpoint.url,
                           canary_section(remote, argocd_application={"cluster": "primary", "name": "platform"}))
    standby = InstantStandbyTakeover(cluster, monkeypatch)

    result, controller = run_gitops(tmp_path, target, cluster, remote)

    [wait] = [r for r in result.journal["run"] if r["activity"]["name"] == "wait-for-takeover"]
    wait_started_wall = datetime.fromisoformat(wait["start"]).timestamp()
    assert standby.taken_at_wall is not None and standby.taken_at_wall < wait_started_wall  # the takeover came first
    assert len(controller.applied) == 1  # the canary commit, deployed by the standby
    assert wait["output"]["recovered"] is True  # before the fix: False, after the whole recovery timeout
    assert wait["output"]["waited_s"] <= DEPLOY_DELAY_S + SUSTAINED_S + 2.0  # not the 20 s recovery timeout
    assert cluster.get("leases", *LEASE)["spec"]["holderIdentity"] == STANDBY


def test_with_an_rpo_branch_the_gitops_rpo_on_aws_is_0_and_every_acknowledged_push_is_on_the_remote(
        aws, endpoint, cluster, kubeconfig, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(aws_driver, "GIT_RPO_INTERVAL_S", RPO_PUSH_INTERVAL_S)
    remote = make_remote(tmp_path)
    gitops_world(cluster, remote)
    first_commit, other = remote.tip(), remote.tip("other")
    target = gitops_target(tmp_path, kubeconfig, endpoint.url, canary_section(remote, RPO_BRANCH, **ARGO_SERVED))

    result, _ = run_gitops(tmp_path, target, cluster, remote)

    report, timeline = result.report, result.timeline()
    run_id = result.journal["experiment"]["configuration"]["zerospof_run_id"]
    [readback] = [e for e in timeline.events if e.kind == EventKind.CANARY_READBACK]
    acked = acked_seqs(timeline)
    acked_before_read_back = acked_seqs(timeline, readback.t_mono - READ_BACK_MARGIN_S)
    assert len(acked_seqs(timeline, timeline.t0())) >= 2
    assert set(acked) <= set(remote.canary_seqs(RPO_BRANCH, run_id))
    assert set(acked_before_read_back) <= set(readback.data["present_seqs"])
    rpo = report["measurements"]["rpo_s"]
    assert rpo["value"] == 0.0 and rpo["detail"]["lost_seqs_before_t0"] == []
    [check] = [c for c in report["checks"] if c["measurement"] == "rpo_s"]
    assert check["passed"] is True and check["measured"] == 0.0
    history = remote.history(RPO_BRANCH)
    assert all(len(c.parents) == 1 for c in history[:-1]) and history[-1].parents == []  # one fast-forward chain
    deployed = remote.tip()  # the deploy branch holds the deployment canary commit and nothing of the RPO canary
    assert remote.parents(deployed) == [first_commit] and remote.changed_files(first_commit, deployed) == [CANARY_FILE]
    assert remote.tip("other") == other and remote.read(deployed, OTHER_FILE) == "replicas: 3\n"
    assert {c["name"]: c["passed"] for c in report["conditions"]}["method-succeeded"] is True


def test_pushes_the_git_host_acknowledged_and_lost_at_failover_make_the_gitops_rpo_on_aws_positive_naming_them(
        aws, endpoint, cluster, kubeconfig, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(aws_driver, "GIT_RPO_INTERVAL_S", RPO_PUSH_INTERVAL_S)
    remote = make_remote(tmp_path)
    gitops_world(cluster, remote)
    failover = GitHostFailoverThatLosesPushes(remote, monkeypatch, lost=2)
    target = gitops_target(tmp_path, kubeconfig, endpoint.url, canary_section(remote, RPO_BRANCH, **ARGO_SERVED))

    result, _ = run_gitops(tmp_path, target, cluster, remote)

    report, timeline = result.report, result.timeline()
    run_id = result.journal["experiment"]["configuration"]["zerospof_run_id"]
    assert failover.lost_seqs is not None and len(failover.lost_seqs) == 2
    on_remote = remote.canary_seqs(RPO_BRANCH, run_id)
    assert not set(failover.lost_seqs) & set(on_remote)  # lost stays lost: later pushes built on the host's tip
    assert max(on_remote) > max(failover.lost_seqs)  # the canary kept pushing after the failover
    rpo = report["measurements"]["rpo_s"]
    assert rpo["detail"]["lost_seqs_before_t0"] == failover.lost_seqs
    [oldest_lost] = [s for s in timeline.samples_of("write-canary") if s.ok and s.value["seq"] == failover.lost_seqs[0]]
    assert rpo["value"] > 0 and rpo["value"] == pytest.approx(timeline.t0() - oldest_lost.value["acked_mono"])
    assert set(acked_seqs(timeline)) - set(failover.lost_seqs) <= set(on_remote)
    [readback] = [e for e in timeline.events if e.kind == EventKind.CANARY_READBACK]
    assert set(acked_seqs(timeline, readback.t_mono - READ_BACK_MARGIN_S)) - set(readback.data["present_seqs"]) == set(
        failover.lost_seqs)
    [check] = [c for c in report["checks"] if c["measurement"] == "rpo_s"]
    assert check["measured"] == rpo["value"]


def test_without_an_rpo_branch_the_gitops_rpo_on_aws_is_not_measured_the_read_back_says_why_and_the_rest_is_measured(
        aws, endpoint, cluster, kubeconfig, tmp_path):  # noqa: F811
    remote = make_remote(tmp_path)
    gitops_world(cluster, remote)
    target = gitops_target(tmp_path, kubeconfig, endpoint.url, canary_section(remote, **ARGO_SERVED))

    result, _ = run_gitops(tmp_path, target, cluster, remote)

    report, timeline = result.report, result.timeline()
    assert timeline.samples_of("write-canary") == [] and remote.history(RPO_BRANCH) == []
    [check] = [c for c in report["checks"] if c["measurement"] == "rpo_s"]
    assert check["passed"] is False and check["measured"] is None and "not measured" in check["message"]
    assert report["measurements"].get("rpo_s", {}).get("value") is None  # never 0
    [read_back] = [r for r in result.journal["run"] if r["activity"]["name"] == "read-back-git-canary"]
    why = "no gitops.canary.rpo_branch (the GitOps RPO canary): RPO cannot be measured"
    assert read_back["output"]["present"] is None and why in read_back["output"]["error"]
    assert why in report["measurements"]["rpo_s"]["detail"]["reason"]  # the cause travels to the figure
    assert report["measurements"]["deployment_delay_s"]["value"] is not None  # the other results are still there
