"""The GitOps canary: what it pushes to a local bare repository (``file://``), and the served revision it reads.

The remote is a real bare git repository in a tmp dir (``tests/aws/git_world.py``); Argo CD is an
Application object in a real API server (``tests/k8s/fixtures.py``, with a minimal Application CRD) whose status the
tests set as its controller would. Every assertion reads the repository's or the API server's state.
"""

from __future__ import annotations

import io
import json
import subprocess

import pytest

from tests.aws.conftest import Endpoint
from tests.aws.git_world import (CANARY_FILE, INITIAL_REVISION, OTHER_FILE, RPO_BRANCH, BareRemote, canary_section, make_remote,
                                  run_git)
from tests.aws.moto_world import REGION, target_document, write_target
from tests.k8s.control_plane import CONTEXT
from tests.k8s.world import argo_application, build_cluster, set_synced_revision
from zerospof.aws.gitops_canary import GitCanary, ServedRevision
from zerospof.aws.run import print_dry_run
from zerospof.aws.target import ArgoApplication, GitopsCanary
from zerospof.errors import TargetError
from zerospof.monitors import ProbeFailed

PLATFORM = ArgoApplication("primary", "argocd", "platform")


def canary_of(remote: BareRemote, file: str = CANARY_FILE, branch: str = "main", application: ArgoApplication | None = None,
              endpoint_url: str | None = None) -> GitopsCanary:
    return GitopsCanary(remote.url, branch, file, application, endpoint_url)


class GitCanaryWithAFakedRace(GitCanary):
    """A FAKE race: someone else pushes to the branch right after the canary fetched its tip (the first time only)."""

    def __init__(self, canary: GitopsCanary, remote: BareRemote) -> None:
        super().__init__(canary)
        self.remote = remote
        self.competing: str | None = None

    def _fetch_tip(self, repository):
        parent = super()._fetch_tip(repository)
        if self.competing is None:
            self.competing = self.remote.push_as_someone_else(OTHER_FILE, "replicas: 5\n")
        return parent


def test_the_canary_pushes_one_commit_on_the_branch_tip_that_changes_only_its_file(tmp_path):
    remote = make_remote(tmp_path)
    before = remote.refs()

    pushed = GitCanary(canary_of(remote)).commit("run 1/a")

    tip = remote.tip()
    assert tip == pushed.commit and remote.parents(tip) == [before["refs/heads/main"]] == [pushed.parent]
    assert remote.changed_files(pushed.parent, tip) == [CANARY_FILE]
    assert remote.read(tip) == f"{pushed.revision}\n" and pushed.revision.startswith("canary-run-1-a-")
    assert remote.read(tip, OTHER_FILE) == "replicas: 3\n"
    assert remote.refs()["refs/heads/other"] == before["refs/heads/other"]


def test_a_canary_push_that_lost_a_race_is_committed_again_on_the_new_tip_never_over_the_other_commit(tmp_path):
    remote = make_remote(tmp_path)
    racing = GitCanaryWithAFakedRace(canary_of(remote), remote)

    pushed = racing.commit("run-1")

    assert racing.competing is not None and pushed.parent == racing.competing
    assert remote.parents(remote.tip()) == [racing.competing]
    assert remote.read(remote.tip(), OTHER_FILE) == "replicas: 5\n"  # the other user's change is kept
    assert remote.read(remote.tip()) == f"{pushed.revision}\n"


@pytest.mark.parametrize("file, branch, message", [
    ("deploy/canary-revison", "main", "'deploy/canary-revison' does not exist on"),
    ("deploy", "main", "'deploy' is not a regular file"),
    (CANARY_FILE, "release", "couldn't find remote ref refs/heads/release"),
])
def test_the_canary_pushes_nothing_when_its_file_or_branch_is_not_there(tmp_path, file, branch, message):
    remote = make_remote(tmp_path)
    before = remote.refs()
    with pytest.raises(TargetError, match=message):
        GitCanary(canary_of(remote, file=file, branch=branch)).commit("run-1")
    assert remote.refs() == before


def test_the_served_revision_is_the_canary_file_at_the_commit_argo_cd_synced(cluster, kube, tmp_path):  # noqa: F811
    remote = make_remote(tmp_path)
    cluster.add(argo_application("platform"))
    set_synced_revision(cluster, "platform", remote.tip())
    served = ServedRevision(canary_of(remote, application=PLATFORM), kube, tip_max_age_s=0.0)  # the tip read every time
    try:
        assert served()["revision"] == INITIAL_REVISION and served.deployed() is True
        pushed = GitCanary(canary_of(remote)).commit("run-1")
        seen = served()
        assert seen["revision"] == INITIAL_REVISION and seen["argocd"]["commit"] != pushed.commit
        assert served.revisions.desired() == pushed.revision and served.deployed() is False

        set_synced_revision(cluster, "platform", pushed.commit)  # the controller applied the canary

        seen = served()
        assert seen["revision"] == pushed.revision and seen["argocd"]["commit"] == pushed.commit
        assert served.deployed() is True
    finally:
        served.close()


def test_with_an_endpoint_its_answer_is_the_served_revision_and_argo_cds_view_is_kept_beside_it(
        cluster, kube, endpoint: Endpoint, tmp_path):  # noqa: F811
    remote = make_remote(tmp_path)
    cluster.add(argo_application("platform"))
    set_synced_revision(cluster, "platform", remote.tip())
    served = ServedRevision(canary_of(remote, application=PLATFORM, endpoint_url=endpoint.url), kube)
    try:
        endpoint.body = json.dumps({"revision": "canary-from-the-app"}).encode()
        seen = served()
        assert seen["revision"] == seen["endpoint"] == "canary-from-the-app"
        assert seen["argocd"]["revision"] == INITIAL_REVISION
        endpoint.body = b'{"version": "1.2.3"}'
        with pytest.raises(ProbeFailed, match="no JSON object with 'revision'"):
            served()
    finally:
        served.close()


def test_dry_run_of_gitops_prints_the_canary_and_rpo_canary_pushes_and_pushes_nothing(aws, cluster, kubeconfig, tmp_path):  # noqa: F811
    remote = make_remote(tmp_path)
    build_cluster(cluster)
    before = remote.refs()
    document = target_document()
    document["kubernetes"] = {"allowed_contexts": [CONTEXT], "clusters": [
        {"name": "primary", "context": CONTEXT, "region": REGION, "kubeconfig": kubeconfig}]}
    document["gitops"] = {"controllers": [{"name": "argocd-primary", "cluster": "primary", "engine": "argocd",
                                           "namespace": "argocd",
                                           "workload": {"kind": "statefulset", "name": "argocd-application-controller"}}],
                          "canary": canary_section(remote, RPO_BRANCH, argocd_application={"cluster": "primary", "name": "platform"})}
    document["scenarios"]["gitops"] = {"controller": "argocd-primary"}
    out = io.StringIO()

    [run] = print_dry_run(write_target(tmp_path, document), ["gitops"], out=out)

    [push, rpo_push] = [call for call in run.planned_calls if call.service == "git"]
    assert push.operation == "push" and push.parameters["refspec"] == f"{run.canary_commit.commit}:refs/heads/main"
    assert push.parameters["parent"] == before["refs/heads/main"] and push.parameters["force"] is False
    assert push.parameters["file"] == CANARY_FILE and push.parameters["repository"] == remote.url
    assert f"DRY-RUN git push {json.dumps(push.parameters, sort_keys=True)}" in out.getvalue()
    assert remote.refs() == before
    assert run_git(remote.path, "cat-file", "-t", push.parameters["parent"]).strip() == "commit"
    with pytest.raises(subprocess.CalledProcessError):  # the planned commit never reached the remote
        run_git(remote.path, "cat-file", "-t", run.canary_commit.commit)
    assert rpo_push.operation == "push" and rpo_push.parameters["refspec"] == f"{run.rpo_canary_push['commit']}:refs/heads/{RPO_BRANCH}"
    assert (rpo_push.parameters["seq"], rpo_push.parameters["parent"], rpo_push.parameters["force"]) == (0, None, False)
    assert f"DRY-RUN git push {json.dumps(rpo_push.parameters, sort_keys=True)}" in out.getvalue()
    assert f"on {RPO_BRANCH} of {remote.url}, pushed as a fast-forward" in out.getvalue()
    assert remote.history(RPO_BRANCH) == []  # the branch was not created
    assert cluster.get("statefulsets", "argocd", "argocd-application-controller")["spec"]["replicas"] == 1
