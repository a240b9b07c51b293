"""The GitOps RPO write canary of an AWS target: numbered commits pushed to a branch of their own, read back after failover.

The target file's ``gitops.canary.rpo_branch`` (never the branch the platform deploys from) names
the branch. During the gitops run the ``write-canary`` sampler calls :meth:`GitRpoCanary.write`
about once a second: one commit of the empty tree, tagged with the run id and a sequence number
(trailers ``Zerospof-Run`` and ``Zerospof-Seq``), pushed as a fast-forward; its seq counts as
acknowledged once the remote accepted the push. After recovery :meth:`GitRpoCanary.read_back` lists
the run's seqs the remote's branch holds now; :func:`zerospof.measure.rpo` does the rest.

git plumbing, identity, prompts off and timeouts are :mod:`zerospof.aws.gitops_canary`'s.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from zerospof.cloud.dry_run import CallRecorder, PlannedCall
from zerospof.aws.gitops_canary import NETWORK_TIMEOUT_S, GitFailed, git, remote_tip, safe_run_id
from zerospof.aws.target import GitopsCanary
from zerospof.errors import TargetError
from zerospof.monitors import ProbeFailed

__all__ = ["GitRpoCanary", "MAX_PUSHES", "PUSH_TIMEOUT_S", "commit_seqs"]

PUSH_TIMEOUT_S = 5.0  # ls-remote, fetch and push of one sample (the sampler pushes about once a second)
MAX_PUSHES = 900  # one run pushes at most this many commits (15 min at one a second)
READ_BACK_DEPTH = 4 * MAX_PUSHES  # how many commits of the branch the read-back walks, newest first
RUN_TRAILER = "Zerospof-Run"
SEQ_TRAILER = "Zerospof-Seq"


def commit_seqs(messages: str, run_id: str) -> list[int]:
    """Return the sorted seqs of ``run_id``'s canary commits among ``messages`` (``git log -z --format=%B``)."""
    tag = safe_run_id(run_id)
    seqs = set()
    for message in messages.split("\0"):
        trailers = dict(re.findall(r"^(Zerospof-Run|Zerospof-Seq): (\S+)$", message, re.MULTILINE))
        if trailers.get(RUN_TRAILER) == tag and trailers.get(SEQ_TRAILER, "").isdigit():
            seqs.add(int(trailers[SEQ_TRAILER]))
    return sorted(seqs)


class GitRpoCanary:
    """Push numbered commits tagged with ``run_id`` to ``canary.rpo_branch`` of ``canary.repository``; read them back.

    Each :meth:`write` reads the branch's tip on the remote (``ls-remote``; fetched, shallow, when it
    is not a commit of this canary's), commits the empty tree on it and pushes
    ``<commit>:refs/heads/<rpo_branch>``: a plain fast-forward, never ``+`` nor ``--force``, and no
    other ref. Building on the tip the remote has *now* means a commit the remote lost (a git host
    failover) is not pushed back by the next one. The first push creates the branch. A refused or
    timed-out push is a failed sample (not acknowledged); its seq is not reused. At most
    ``max_pushes`` writes. In dry run (``recorder`` set) the remote is read, the commit built in the
    scratch repository and the push recorded (``DRY-RUN git push {...}``), not made. Not idempotent:
    every write adds a commit. :meth:`close` removes the scratch repository.
    """

    def __init__(self, canary: GitopsCanary, run_id: str, recorder: CallRecorder | None = None,
                 push_timeout_s: float = PUSH_TIMEOUT_S, max_pushes: int = MAX_PUSHES) -> None:
        if canary.rpo_branch is None or canary.rpo_branch == canary.branch:
            raise ValueError(f"the RPO canary needs an rpo_branch other than the deploy branch {canary.branch!r}")
        self.canary = canary
        self.branch: str = canary.rpo_branch
        self.run_id = run_id
        self.recorder = recorder
        self.push_timeout_s = push_timeout_s
        self.max_pushes = max_pushes
        self._scratch: Path | None = None
        self._next_seq = 0
        self._lock = threading.Lock()

    def _where(self) -> str:
        return f"{self.canary.repository} branch {self.branch}"

    def _repository(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="zerospof-git-rpo-canary-"))
            git("init", "--bare", "--quiet", str(self._scratch), cwd=self._scratch)
        return self._scratch

    def check(self) -> None:
        """Read the remote's ``rpo_branch`` once (it may not exist yet); TargetError when the remote cannot be read."""
        try:
            remote_tip(self.canary.repository, self.branch, self.push_timeout_s)
        except GitFailed as exc:
            raise TargetError(f"the GitOps RPO canary cannot read {self._where()}: {exc}") from exc

    def write(self) -> dict[str, Any]:
        """Push the next numbered commit; return ``{"seq": n, "commit": id}`` once the remote acknowledged it."""
        with self._lock:
            if self._next_seq >= self.max_pushes:
                raise ProbeFailed(f"the RPO canary stopped after {self.max_pushes} pushes")
            seq, self._next_seq = self._next_seq, self._next_seq + 1
            repository = self._repository()
            parent = self._tip(repository)
            tree = git("mktree", cwd=repository, input_text="").strip()
            message = (f"zerospof rpo canary: seq {seq} of run {safe_run_id(self.run_id)}\n\n"
                       f"{RUN_TRAILER}: {safe_run_id(self.run_id)}\n{SEQ_TRAILER}: {seq}\n")
            commit = git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message, cwd=repository).strip()
            refspec = f"{commit}:refs/heads/{self.branch}"
            if self.recorder is not None:
                self.recorder.record(PlannedCall("git", "push", {
                    "repository": self.canary.repository, "refspec": refspec, "parent": parent, "seq": seq,
                    "run_id": safe_run_id(self.run_id), "force": False}))
            else:
                git("push", "--porcelain", self.canary.repository, refspec, cwd=repository, timeout_s=self.push_timeout_s)
            return {"seq": seq, "commit": commit, "acked_mono": time.monotonic()}

    def _tip(self, repository: Path) -> str | None:
        """The branch's tip on the remote now, present in ``repository``; None when the branch does not exist yet."""
        tip = remote_tip(self.canary.repository, self.branch, self.push_timeout_s)
        if tip is None:
            return None
        try:
            git("cat-file", "-e", f"{tip}^{{commit}}", cwd=repository)
        except GitFailed:
            git("fetch", "--quiet", "--no-tags", "--depth=1", self.canary.repository, f"refs/heads/{self.branch}",
                cwd=repository, timeout_s=self.push_timeout_s)
            tip = git("rev-parse", "FETCH_HEAD^{commit}", cwd=repository).strip()
        return tip

    def read_back(self) -> list[int]:
        """Return the run's seqs on the remote's ``rpo_branch`` now (a fresh fetch); [] when the branch is gone.

        Walks the newest ``READ_BACK_DEPTH`` commits. TargetError when the remote cannot be read.
        """
        with tempfile.TemporaryDirectory(prefix="zerospof-git-rpo-read-back-") as scratch:
            try:
                git("init", "--bare", "--quiet", scratch, cwd=scratch)
                if remote_tip(self.canary.repository, self.branch) is None:
                    return []
                git("fetch", "--quiet", "--no-tags", f"--depth={READ_BACK_DEPTH}", self.canary.repository,
                    f"refs/heads/{self.branch}", cwd=scratch, timeout_s=NETWORK_TIMEOUT_S)
                messages = git("log", "-z", "--format=%B", "FETCH_HEAD", cwd=scratch)
            except GitFailed as exc:
                raise TargetError(f"the GitOps RPO canary cannot be read back from {self._where()}: {exc}") from exc
        return commit_seqs(messages, self.run_id)

    def close(self) -> None:
        """Remove the scratch repository (idempotent)."""
        scratch, self._scratch = self._scratch, None
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
