"""What the lab driver observes and does for the ``gitops`` scenario (detection, deployment, RPO).

Where users push: to the primary git host, else to the mirror (the backup provider accepts pushes
and its sync loop carries them back to the primary, see :mod:`.mirror`). That is how "deployment
delays only" can hold while the primary host is out: the deployment canary and the RPO canary
both push there, and every figure counts from the acknowledged push.

- :func:`reconciler_lease_signal`: the platform's own detection, a new term of the GitOps Lease;
- :func:`served_revision`: the revision every app replica serves (``None`` while they disagree);
- :class:`PushCanary`: the GitOps RPO canary, one acknowledged push per call, each to a ref of its
  own (``refs/heads/zerospof-canary/<run id>/<seq>``) so it never races the deployment canary on
  ``main``; :func:`canary_seqs` reads back which of them a git host has;
- :func:`commit_canary`: a new desired revision on ``main``; :func:`recovered`: a reconciler
  leads, its git host answers and every replica serves what that host's ``main`` asks for.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from zerospof.errors import LabError
from zerospof.lab.controlplane.probes import admin_api
from zerospof.lab.gitops import layout
from zerospof.lab.gitops.canary import commit_revision, served_revisions
from zerospof.lab.gitops.repo import BRANCH, GitError, git, ls_remote
from zerospof.lab.gitops.signals import reconciler_holder
from zerospof.lab.health import desired_revision
from zerospof.monitors import ProbeFailed

__all__ = ["CANARY_REF_PREFIX", "PushCanary", "canary_seqs", "commit_canary", "current_source", "head_revision",
           "push_targets", "reconciler_lease_signal", "recovered", "served_revision"]

CANARY_REF_PREFIX = "refs/heads/zerospof-canary/"
PRIMARY_PUSH_TIMEOUT_S = 0.5  # on the lab's bridge a reachable host answers in milliseconds
MIRROR_PUSH_TIMEOUT_S = 3.0
HOSTS = ("primary", "mirror")


def push_targets() -> list[str]:
    """Git hosts in the order users push to them: the primary, then the mirror (backup provider)."""
    return list(HOSTS)


def reconciler_lease_signal(state_dir: Path) -> Callable[[], dict[str, Any]]:
    """Probe: ``detected`` once the GitOps Lease is held in a new term (baseline: the first good reading)."""
    api = admin_api(state_dir, timeout_s=0.5)
    baseline: dict[str, Any] = {}

    def probe() -> dict[str, Any]:
        if not baseline:
            first = reconciler_holder(api)
            if not first["ok"] or first["holder"] is None:
                return {"detected": False, "holder": first["holder"], "baseline": None}
            baseline.update(holder=first["holder"], transitions=first["transitions"])
        found = reconciler_holder(api, baseline)
        return {"detected": found["detected"], "holder": found["holder"], "transitions": found["transitions"],
                "baseline": dict(baseline)}
    return probe


def served_revision(timeout_s: float = 0.5) -> dict[str, Any]:
    """Return ``{"revision": what every replica serves, or None while they disagree, "replicas": {...}}``."""
    revisions = served_revisions(layout.app_urls(), timeout_s)
    values = set(revisions.values())
    agreed = values.pop() if len(values) == 1 else None
    replicas = {url.split("//", 1)[1].split(":", 1)[0]: revision for url, revision in revisions.items()}
    return {"revision": agreed, "replicas": replicas}


def _timeout(host: str) -> float:
    return PRIMARY_PUSH_TIMEOUT_S if host == "primary" else MIRROR_PUSH_TIMEOUT_S


def commit_canary(run_id: str) -> tuple[str, str]:
    """Commit a new desired revision on ``main`` where users push (primary, else mirror); return (revision, host).

    Raises LabError when no git host accepted it. Not idempotent: every call adds a commit.
    """
    revision = f"canary-{run_id}-{time.time_ns() // 1_000_000}"[:128]
    errors = []
    for host in push_targets():
        try:
            commit_revision(layout.git_url(host), revision, timeout_s=max(1.0, _timeout(host)))
            return revision, host
        except GitError as exc:
            errors.append(f"{host}: {exc}")
    raise LabError("no git host accepted the canary commit: " + "; ".join(errors))


class PushCanary:
    """The GitOps RPO canary: each call pushes one sequenced commit where users push; returns ``{"seq", "host"}``.

    Each commit is a parentless commit of the empty tree on a ref of its own, so pushes are
    independent (no fetch first, no race with other writers) and a lost one stays lost until the
    sync loop brings it back. :meth:`close` removes the local scratch repository.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._scratch = Path(tempfile.mkdtemp(prefix="zerospof-push-canary-"))
        git("init", "--bare", "--quiet", str(self._scratch))
        self._tree = git("mktree", cwd=self._scratch, input_text="").strip()
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, Any]:
        with self._lock:
            seq, self._next = self._next, self._next + 1
        commit = git("commit-tree", self._tree, "-m", f"zerospof rpo canary {self.run_id} {seq}",
                     cwd=self._scratch).strip()
        ref = f"{CANARY_REF_PREFIX}{self.run_id}/{seq}"
        errors = []
        for host in push_targets():
            try:
                git("push", "--quiet", layout.git_url(host), f"{commit}:{ref}", cwd=self._scratch,
                    timeout_s=_timeout(host))
                return {"seq": seq, "host": host, "acked_mono": time.monotonic()}
            except GitError as exc:
                errors.append(f"{host}: {exc}"[:200])
        raise ProbeFailed(f"seq {seq}: " + "; ".join(errors))

    def close(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)


def canary_seqs(host: str, run_id: str, timeout_s: float = 3.0) -> list[int]:
    """Return the sequence numbers of ``run_id``'s RPO canary pushes that ``host`` has; LabError if it does not answer."""
    prefix = f"{CANARY_REF_PREFIX}{run_id}/"
    try:
        refs = ls_remote(layout.git_url(host), timeout_s)
    except GitError as exc:
        raise LabError(f"cannot read the canary back from the {host} git host: {exc}") from exc
    return sorted(int(ref[len(prefix):]) for ref in refs if ref.startswith(prefix) and ref[len(prefix):].isdigit())


def current_source(state_dir: Path, timeout_s: float = 0.5) -> str | None:
    """Return the git host (``primary`` | ``mirror``) the reconciler holding the Lease reads, None when nobody leads."""
    holder = reconciler_holder(admin_api(state_dir, timeout_s))["holder"]
    return layout.reader_of(holder) if holder in layout.RECONCILERS else None


def head_revision(state_dir: Path, host: str, timeout_s: float = 1.0) -> tuple[str | None, str | None]:
    """Return (commit, revision) of ``main`` on ``host``: (None, None) when it does not answer."""
    try:
        commit = ls_remote(layout.git_url(host), timeout_s).get(f"refs/heads/{BRANCH}")
    except GitError:
        return None, None
    if commit is None:
        return None, None
    return commit, desired_revision(state_dir, host, commit, timeout_s)


def recovered(state_dir: Path) -> dict[str, Any]:
    """Return ``{"recovered": bool, ...}``: a reconciler leads, its git host answers, every replica serves its ``main``."""
    with ThreadPoolExecutor(2) as pool:
        source = pool.submit(current_source, state_dir)
        served = pool.submit(served_revision)
        host = source.result()
        view = served.result()
    if host is None:
        return {"recovered": False, "reason": "no reconciler holds the lease", "served": view["revision"]}
    commit, desired = head_revision(state_dir, host)
    done = desired is not None and view["revision"] == desired
    return {"recovered": done, "source": host, "desired": desired, "commit": commit, "served": view["revision"]}
