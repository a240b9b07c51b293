"""The GitOps RPO write canary: what it pushes to a local bare repository (``file://``), and what it reads back.

The remote is a real bare git repository in a tmp dir (``tests/aws/git_world.py``); every assertion
reads the repository's refs and commits.
"""

from __future__ import annotations

import pytest

from tests.aws.git_world import EMPTY_TREE, RPO_BRANCH, BareRemote, canary_section, make_remote
from tests.aws.moto_world import target_document
from zerospof.aws.driver import AwsDriver
from zerospof.aws.git_rpo_canary import GitRpoCanary
from zerospof.aws.target import GitopsCanary, parse_aws_target
from zerospof.errors import TargetError
from zerospof.monitors import ProbeFailed


def rpo_canary_of(remote: BareRemote, run_id: str, **options: object) -> GitRpoCanary:
    return GitRpoCanary(GitopsCanary(remote.url, "main", "deploy/canary-revision", None, "http://127.0.0.1:1/v",
                                     rpo_branch=RPO_BRANCH), run_id, **options)


def write_all(canary: GitRpoCanary, count: int) -> list[dict]:
    try:
        return [canary.write() for _ in range(count)]
    finally:
        canary.close()


def test_the_rpo_canary_pushes_numbered_empty_commits_in_one_chain_on_its_branch_and_nothing_else(tmp_path):
    remote = make_remote(tmp_path)
    before = remote.refs()

    acked = write_all(rpo_canary_of(remote, "run-1"), 3)

    history = remote.history(RPO_BRANCH)
    assert [a["seq"] for a in acked] == [0, 1, 2]
    assert [c.commit for c in history] == [a["commit"] for a in reversed(acked)]
    assert [c.parents for c in history] == [[acked[1]["commit"]], [acked[0]["commit"]], []]  # fast-forwards from nothing
    assert {c.tree for c in history} == {EMPTY_TREE}
    assert [c.trailers for c in history] == [{"Zerospof-Run": "run-1", "Zerospof-Seq": str(seq)} for seq in (2, 1, 0)]
    assert {ref: commit for ref, commit in remote.refs().items() if ref != f"refs/heads/{RPO_BRANCH}"} == before


def test_the_read_back_lists_the_runs_seqs_on_the_remote_branch_and_not_another_runs(tmp_path):
    remote = make_remote(tmp_path)
    write_all(rpo_canary_of(remote, "run-1"), 3)
    write_all(rpo_canary_of(remote, "run-2"), 2)  # on top of run-1's commits

    assert remote.canary_seqs(RPO_BRANCH, "run-1") == [0, 1, 2] and remote.canary_seqs(RPO_BRANCH, "run-2") == [0, 1]
    assert rpo_canary_of(remote, "run-1").read_back() == [0, 1, 2]
    assert rpo_canary_of(remote, "run-2").read_back() == [0, 1]
    assert rpo_canary_of(remote, "run-3").read_back() == []


def test_commits_the_remote_lost_stay_lost_the_next_push_builds_on_the_tip_the_remote_has_now(tmp_path):
    remote = make_remote(tmp_path)
    canary = rpo_canary_of(remote, "run-1")
    try:
        acked = [canary.write() for _ in range(4)]
        kept = remote.lose_commits(RPO_BRANCH, 2)  # the git host fails over and loses seqs 2 and 3
        after = canary.write()
    finally:
        canary.close()

    assert kept.commit == acked[1]["commit"]
    assert remote.history(RPO_BRANCH)[0].parents == [kept.commit] and after["seq"] == 4
    assert remote.canary_seqs(RPO_BRANCH, "run-1") == [0, 1, 4]
    assert rpo_canary_of(remote, "run-1").read_back() == [0, 1, 4]


def test_the_read_back_of_a_branch_that_is_gone_is_empty_and_of_an_unreachable_remote_fails(tmp_path):
    remote = make_remote(tmp_path)
    assert rpo_canary_of(remote, "run-1").read_back() == []
    unreachable = BareRemote(tmp_path / "nowhere.git", tmp_path / "nowhere")
    with pytest.raises(TargetError, match="cannot be read back from"):
        rpo_canary_of(unreachable, "run-1").read_back()
    with pytest.raises(TargetError, match="cannot read"):
        rpo_canary_of(unreachable, "run-1").check()


def test_the_rpo_canary_stops_after_its_push_limit_and_refuses_the_deploy_branch(tmp_path):
    remote = make_remote(tmp_path)
    canary = rpo_canary_of(remote, "run-1", max_pushes=2)
    try:
        canary.write()
        canary.write()
        with pytest.raises(ProbeFailed, match="stopped after 2 pushes"):
            canary.write()
    finally:
        canary.close()
    assert remote.canary_seqs(RPO_BRANCH, "run-1") == [0, 1]
    with pytest.raises(ValueError, match="other than the deploy branch"):
        GitRpoCanary(GitopsCanary(remote.url, "main", "f", None, None, rpo_branch="main"), "run-1")


def test_the_driver_reads_the_git_canary_back_and_without_any_canary_says_rpo_cannot_be_measured(tmp_path):
    remote = make_remote(tmp_path)
    write_all(rpo_canary_of(remote, "run-1"), 2)
    with_branch = target_document(gitops={"canary": canary_section(remote, RPO_BRANCH, endpoint={"url": "http://127.0.0.1:1/v"})})
    without = target_document(gitops={"canary": canary_section(remote, endpoint={"url": "http://127.0.0.1:1/v"})})

    assert AwsDriver(parse_aws_target(with_branch)).read_back("run-1") == [0, 1]
    assert AwsDriver(parse_aws_target(with_branch)).read_back("run-2") == []  # read, and none of run-2's is there
    with pytest.raises(TargetError, match="no gitops.canary.rpo_branch .*: RPO cannot be measured"):
        AwsDriver(parse_aws_target(without)).read_back("run-1")
