"""The GitOps canary: commit a new desired revision to a git host (see :mod:`.probes` for which); read what apps serve.

Deployment delay = from :attr:`CanaryCommit.pushed_monotonic` to the first moment every app replica
serves :attr:`CanaryCommit.revision` (see :func:`served_revisions`).
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from zerospof.lab.http_lite import request_json
from zerospof.lab.gitops.repo import BRANCH, DESIRED_FILE, git, render_desired

__all__ = ["CanaryCommit", "app_revision", "commit_revision", "served_revisions"]


@dataclass(frozen=True)
class CanaryCommit:
    """A pushed canary: the revision it asks for, its commit id, when the push was acknowledged."""

    revision: str
    commit: str
    pushed_at: float  # epoch seconds, for display
    pushed_monotonic: float  # time.monotonic(), for measurements


def commit_revision(git_url: str, revision: str | None = None, *, timeout_s: float = 5.0) -> CanaryCommit:
    """Commit ``app.yaml`` asking for ``revision`` (default ``canary-<epoch ns>``) on ``main`` and push it.

    The commit's parent is ``main`` as fetched from ``git_url`` just before; the push is a
    fast-forward (it fails, raising GitError, if someone pushed in between). Not idempotent:
    every call adds a commit.
    """
    revision = revision or f"canary-{time.time_ns()}"
    with tempfile.TemporaryDirectory(prefix="zerospof-canary-") as scratch:
        repo = Path(scratch)
        git("init", "--bare", "--quiet", str(repo))
        git("fetch", "--quiet", "--no-tags", git_url, f"+refs/heads/{BRANCH}:refs/heads/{BRANCH}",
            cwd=repo, timeout_s=timeout_s)
        parent = git("rev-parse", BRANCH, cwd=repo).strip()
        blob = git("hash-object", "-w", "--stdin", cwd=repo, input_text=render_desired(revision)).strip()
        tree = git("mktree", cwd=repo, input_text=f"100644 blob {blob}\t{DESIRED_FILE}\n").strip()
        commit = git("commit-tree", tree, "-p", parent, "-m", f"canary: revision {revision}", cwd=repo).strip()
        git("push", "--quiet", git_url, f"{commit}:refs/heads/{BRANCH}", cwd=repo, timeout_s=timeout_s)
        return CanaryCommit(revision, commit, time.time(), time.monotonic())


def app_revision(app_url: str, timeout_s: float = 0.5) -> str | None:
    """Return the revision the app replica at ``app_url`` serves (``GET /revision``), None when it does not answer."""
    try:
        status, reply = request_json("GET", f"{app_url}/revision", None, timeout_s)
    except (OSError, ValueError):
        return None
    revision = reply.get("revision") if status == 200 and isinstance(reply, dict) else None
    return None if revision is None else str(revision)


def served_revisions(app_urls: list[str], timeout_s: float = 0.5) -> dict[str, str | None]:
    """Return ``{app_url: revision it serves (None: no answer)}``, asking all replicas at once."""
    with ThreadPoolExecutor(max(1, len(app_urls))) as pool:
        return dict(zip(app_urls, pool.map(lambda url: app_revision(url, timeout_s), app_urls)))
