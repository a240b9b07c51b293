"""The GitOps canary of an AWS target: commit a new revision into one file of a git remote, and see which is served.

Deployment delay = from the acknowledged push of :meth:`GitCanary.commit` to the first
``served-revision`` sample (:class:`ServedRevision`) that serves the new revision.

The target file's ``gitops.canary`` names the remote, the branch and the one file whose content
(one line) is the revision. git runs as the runner's own ``git``: credentials come from its
credential helpers or SSH keys, never from the target file; prompts are off and every call is
bounded in time.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zerospof.cloud.dry_run import CallRecorder, PlannedCall
from zerospof.aws.target import GitopsCanary
from zerospof.errors import TargetError
from zerospof.k8s.clients import KubeClients
from zerospof.k8s.probes import argocd_application
from zerospof.monitors import HttpProbe, ProbeFailed

__all__ = ["CanaryCommit", "CommitRevisions", "GitCanary", "GitFailed", "ServedRevision", "git", "new_revision", "remote_tip",
           "safe_run_id"]

NETWORK_TIMEOUT_S = 30.0  # fetch, push, ls-remote
LOCAL_TIMEOUT_S = 10.0
PUSH_ATTEMPTS = 3  # a push refused because someone pushed first is retried on the new tip
TIP_MAX_AGE_S = 2.0  # how long a branch tip read by ls-remote is reused (recovery is polled 4 times a second)
_REGULAR_FILE_MODES = ("100644", "100755")
_IDENTITY = {"GIT_AUTHOR_NAME": "zerospof canary", "GIT_AUTHOR_EMAIL": "zerospof-canary@invalid",
             "GIT_COMMITTER_NAME": "zerospof canary", "GIT_COMMITTER_EMAIL": "zerospof-canary@invalid"}
_REPOSITORY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE")


class GitFailed(TargetError):
    """A git command failed or timed out; ``output`` is what git printed."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


def git(*args: str, cwd: str | Path, timeout_s: float = LOCAL_TIMEOUT_S, input_text: str | None = None,
        index_file: Path | None = None) -> str:
    """Run ``git <args>`` in the repository ``cwd``; return its stdout; GitFailed on failure or timeout."""
    environment = {name: value for name, value in os.environ.items() if name not in _REPOSITORY_VARIABLES}
    environment.update(_IDENTITY, GIT_TERMINAL_PROMPT="0")
    if index_file is not None:
        environment["GIT_INDEX_FILE"] = str(index_file)
    stdin: dict[str, Any] = {"input": input_text} if input_text is not None else {"stdin": subprocess.DEVNULL}
    try:
        result = subprocess.run(["git", "-c", "protocol.version=2", *args], cwd=cwd, capture_output=True, text=True,
                                timeout=timeout_s, env=environment, check=False, **stdin)
    except subprocess.TimeoutExpired as exc:
        raise GitFailed(f"git {args[0]}: timed out after {timeout_s:g}s") from exc
    if result.returncode != 0:
        output = f"{result.stdout}\n{result.stderr}".strip()
        raise GitFailed(f"git {args[0]}: {result.stderr.strip()[-400:] or result.stdout.strip()[-400:]}", output)
    return result.stdout


def safe_run_id(run_id: str) -> str:
    """Return ``run_id`` as one short token of [A-Za-z0-9._-] (what canary commits are tagged with)."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", run_id)[:80]


def new_revision(run_id: str) -> str:
    """Return a new canary revision for ``run_id``: ``canary-<run id>-<epoch ms>``, one line of [A-Za-z0-9._-]."""
    return f"canary-{safe_run_id(run_id)}-{time.time_ns() // 1_000_000}"


def remote_tip(repository: str, branch: str, timeout_s: float = NETWORK_TIMEOUT_S) -> str | None:
    """Return the commit ``branch`` points at on the remote ``repository`` (``ls-remote``); None when there is no such branch."""
    ref = f"refs/heads/{branch}"
    listed = git("ls-remote", repository, ref, cwd=tempfile.gettempdir(), timeout_s=timeout_s)
    tips = [line.split("\t")[0] for line in listed.splitlines() if line.endswith(f"\t{ref}")]
    return tips[0] if tips else None


def _file_entry(repository: Path, commit: str, path: str) -> tuple[str, str, str] | None:
    """Return ``(mode, type, object id)`` of ``path`` at ``commit``, or None when there is no such entry."""
    listed = git("ls-tree", "-z", commit, "--", path, cwd=repository)
    for entry in listed.split("\0"):
        meta, _, name = entry.partition("\t")
        if name == path:
            mode, kind, object_id = meta.split()
            return mode, kind, object_id
    return None


@dataclass(frozen=True)
class CanaryCommit:
    """A canary commit: the revision its file now holds, its commit id and its parent (the tip it fast-forwards)."""

    revision: str
    commit: str
    parent: str


class GitCanary:
    """Write a new revision into ``canary.file`` on ``canary.branch`` of ``canary.repository`` and push it.

    Safety: the commit's parent is the branch tip fetched just before; it changes that one file and
    nothing else (checked with ``git diff-tree`` before any push), and the file must already exist
    as a regular file. The push is a plain fast-forward (``<commit>:refs/heads/<branch>``, never
    ``+`` nor ``--force``): when someone pushed in between, the remote refuses it and the canary
    commits again on the new tip (at most ``PUSH_ATTEMPTS`` times), so their commit is kept. In
    dry run (``recorder`` set) the remote is read and the commit built in a scratch repository,
    the push is recorded (``DRY-RUN git push {...}``) and not made. Not idempotent: every call
    adds a commit.
    """

    def __init__(self, canary: GitopsCanary, recorder: CallRecorder | None = None) -> None:
        self.canary = canary
        self.recorder = recorder

    def commit(self, run_id: str) -> CanaryCommit:
        """Commit a new revision and push it; return it once the remote acknowledged the push."""
        revision = new_revision(run_id)
        with tempfile.TemporaryDirectory(prefix="zerospof-gitops-canary-") as scratch:
            repository = Path(scratch)
            git("init", "--bare", "--quiet", str(repository), cwd=repository)
            for attempt in range(1, PUSH_ATTEMPTS + 1):
                parent = self._fetch_tip(repository)
                commit = self._commit_on(repository, parent, revision, run_id)
                if self.recorder is not None:
                    self.recorder.record(PlannedCall("git", "push", self._push_parameters(commit, parent, revision)))
                    return CanaryCommit(revision, commit, parent)
                try:
                    git("push", "--porcelain", self.canary.repository, f"{commit}:refs/heads/{self.canary.branch}",
                        cwd=repository, timeout_s=NETWORK_TIMEOUT_S)
                except GitFailed as exc:
                    if "[rejected]" not in exc.output or attempt == PUSH_ATTEMPTS:
                        raise GitFailed(f"canary push to {self._where()} refused: {exc}", exc.output) from exc
                    continue  # someone pushed first: commit again on their tip
                return CanaryCommit(revision, commit, parent)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _where(self) -> str:
        return f"{self.canary.repository} branch {self.canary.branch}"

    def _push_parameters(self, commit: str, parent: str, revision: str) -> dict[str, Any]:
        return {"repository": self.canary.repository, "refspec": f"{commit}:refs/heads/{self.canary.branch}",
                "parent": parent, "file": self.canary.file, "revision": revision, "force": False}

    def _fetch_tip(self, repository: Path) -> str:
        try:
            git("fetch", "--quiet", "--no-tags", "--depth=1", self.canary.repository, f"refs/heads/{self.canary.branch}",
                cwd=repository, timeout_s=NETWORK_TIMEOUT_S)
        except GitFailed as exc:
            raise GitFailed(f"cannot fetch {self._where()}: {exc}", exc.output) from exc
        return git("rev-parse", "FETCH_HEAD^{commit}", cwd=repository).strip()

    def _commit_on(self, repository: Path, parent: str, revision: str, run_id: str) -> str:
        path = self.canary.file
        entry = _file_entry(repository, parent, path)
        if entry is None or entry[0] not in _REGULAR_FILE_MODES:
            found = "does not exist" if entry is None else f"is not a regular file (mode {entry[0]})"
            raise TargetError(f"gitops.canary.file {path!r} {found} on {self._where()}: the canary only rewrites "
                              "an existing file; create it once (its content: the current revision)")
        blob = git("hash-object", "-w", "--stdin", cwd=repository, input_text=f"{revision}\n").strip()
        index = repository / "canary-index"
        git("read-tree", parent, cwd=repository, index_file=index)
        git("update-index", "--cacheinfo", f"{entry[0]},{blob},{path}", cwd=repository, index_file=index)
        tree = git("write-tree", cwd=repository, index_file=index).strip()
        commit = git("commit-tree", tree, "-p", parent, "-m", f"zerospof canary: {path} = {revision} (run {run_id})",
                     cwd=repository).strip()
        changed = [name for name in git("diff-tree", "-r", "-z", "--name-only", "--no-commit-id", parent, commit,
                                        cwd=repository).split("\0") if name]
        if changed != [path]:
            raise TargetError(f"refusing to push the canary commit: it changes {changed}, not just {path!r}")
        return commit


class CommitRevisions:
    """The revision ``canary.file`` holds at a commit of the canary's repository.

    Each commit is fetched once (shallow, by id: git protocol v2, as GitHub and GitLab serve it)
    into a scratch repository and its answer cached; the branch tip is read again after
    ``tip_max_age_s``. :meth:`close` removes the scratch repository.
    """

    def __init__(self, canary: GitopsCanary, tip_max_age_s: float = TIP_MAX_AGE_S) -> None:
        self.canary = canary
        self.tip_max_age_s = tip_max_age_s
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._revisions: dict[str, str | None] = {}
        self._tip: tuple[float, str] | None = None  # (monotonic time read, commit)
        self._lock = threading.Lock()

    def _repository(self) -> Path:
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="zerospof-gitops-served-")
            git("init", "--bare", "--quiet", self._scratch.name, cwd=self._scratch.name)
        return Path(self._scratch.name)

    def at(self, commit: str) -> str | None:
        """Return the (stripped) content of the canary file at ``commit``; None when the file is not there."""
        with self._lock:
            if commit not in self._revisions:
                repository = self._repository()
                git("fetch", "--quiet", "--no-tags", "--depth=1", self.canary.repository, commit, cwd=repository,
                    timeout_s=NETWORK_TIMEOUT_S)
                entry = _file_entry(repository, commit, self.canary.file)
                blob = git("cat-file", "blob", entry[2], cwd=repository) if entry and entry[1] == "blob" else None
                self._revisions[commit] = blob.strip() if blob is not None else None
            return self._revisions[commit]

    def desired(self) -> str | None:
        """Return the revision the branch asks for now (its tip, read again after ``tip_max_age_s``)."""
        with self._lock:
            if self._tip is None or time.monotonic() - self._tip[0] >= self.tip_max_age_s:
                tip = remote_tip(self.canary.repository, self.canary.branch)
                if tip is None:
                    raise TargetError(f"branch {self.canary.branch} not found on {self.canary.repository}")
                self._tip = (time.monotonic(), tip)
            commit = self._tip[1]
        return self.at(commit)

    def close(self) -> None:
        """Remove the scratch repository (idempotent)."""
        scratch, self._scratch = self._scratch, None
        if scratch is not None:
            scratch.cleanup()


class ServedRevision:
    """Probe: which revision the platform serves; ``{"revision": ..., "endpoint": ..., "argocd": {...}}``.

    With ``canary.endpoint_url`` the endpoint's JSON answer (``canary.endpoint_field``) decides:
    it is what users get, and Argo CD may be the controller the scenario failed. Without it, the
    revision is the canary file's content at the commit Argo CD synced (``status.sync.revision``).
    Argo CD's view, when configured, is recorded either way. Raises (a failed sample) when an
    observer cannot be read.
    """

    def __init__(self, canary: GitopsCanary, kube: KubeClients | None, connect_timeout_s: float = 1.0,
                 timeout_s: float = 2.0, tip_max_age_s: float = TIP_MAX_AGE_S) -> None:
        if canary.application is not None and kube is None:
            raise ValueError("an Argo CD application needs the clients of its cluster")
        self.canary = canary
        self.kube = kube
        self.revisions = CommitRevisions(canary, tip_max_age_s)
        self._endpoint = (HttpProbe(canary.endpoint_url, connect_timeout_s=connect_timeout_s, timeout_s=timeout_s)
                          if canary.endpoint_url else None)

    def __call__(self) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        application = self.canary.application
        if application is not None and self.kube is not None:
            view = argocd_application(self.kube, application.namespace, application.name)
            commit = view["revision"]
            seen["argocd"] = {"commit": commit, "sync": view["sync"], "health": view["health"],
                              "revision": self.revisions.at(commit) if commit else None}
        if self._endpoint is not None:
            seen["endpoint"] = self._endpoint_revision(self._endpoint)
        seen["revision"] = seen["endpoint"] if self._endpoint is not None else seen["argocd"]["revision"]
        return seen

    def _endpoint_revision(self, endpoint: HttpProbe) -> str:
        try:
            body = endpoint()["body"]
        except (OSError, http.client.HTTPException) as exc:
            raise ProbeFailed(f"{endpoint.url}: {type(exc).__name__}: {exc}") from exc
        field = self.canary.endpoint_field
        if not isinstance(body, dict) or body.get(field) is None:
            raise ProbeFailed(f"{endpoint.url} answered no JSON object with {field!r}")
        return str(body[field])

    def check(self) -> dict[str, Any]:
        """Read the branch's desired revision and every observer once; TargetError naming what cannot be read."""
        try:
            desired = self.revisions.desired()
            if desired is None:
                raise TargetError(f"gitops.canary.file {self.canary.file!r} does not exist on the tip of "
                                  f"{self.canary.repository} branch {self.canary.branch}")
            return {"desired": desired, "served": self()}
        except ProbeFailed as exc:
            raise TargetError(f"the GitOps canary's served revision cannot be read: {exc}") from exc

    def deployed(self) -> bool:
        """Return whether the platform serves the revision the branch asks for now."""
        desired = self.revisions.desired()
        return desired is not None and self()["revision"] == desired

    def close(self) -> None:
        """Remove the scratch repository (idempotent)."""
        self.revisions.close()
