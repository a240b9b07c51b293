"""GitOps detection signals: plain dicts, never raising on I/O errors.

:func:`reconciler_holder` reads the reconcilers' ``coordination.k8s.io`` Lease (``zerospof-lab/gitops-controller``)
with :func:`zerospof.lab.controlplane.signals.kube_lease`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from zerospof.lab.controlplane.signals import kube_lease
from zerospof.lab.gitops.canary import served_revisions
from zerospof.lab.gitops.mirror import read_status
from zerospof.lab.gitops.reconciler import LEASE, NAMESPACE
from zerospof.lab.gitops.repo import BRANCH, GitError, ls_remote
from zerospof.lab.kube.api import KubeApi

__all__ = ["applied_revisions", "mirror_lag", "reconciler_holder"]


def reconciler_holder(api: KubeApi, baseline: dict[str, Any] | None = None,
                      namespace: str = NAMESPACE) -> dict[str, Any]:
    """``{"ok", "holder", "transitions", ...}``: the reconciler holding the GitOps Lease (in ``namespace``) now
    (None: vacant or expired). ``detected`` (with a baseline ``{"holder", "transitions"}``): held in a new term."""
    found = kube_lease(api, LEASE, namespace=namespace)
    holder = found["component"] if found["held"] else None
    result = {**found, "holder": holder}
    if baseline is not None:
        result["detected"] = holder is not None and (holder, found["transitions"]) != (
            baseline.get("holder"), baseline.get("transitions"))
    return result


def applied_revisions(app_urls: list[str], expected: str | None = None, timeout_s: float = 0.5) -> dict[str, Any]:
    """Return ``{"ok", "revisions": {app_url: revision | None}}``.

    With ``expected`` (e.g. a canary's revision) also ``detected``: every replica serves it.
    """
    revisions = served_revisions(app_urls, timeout_s)
    result: dict[str, Any] = {"ok": any(r is not None for r in revisions.values()), "revisions": revisions}
    if expected is not None:
        result["detected"] = bool(revisions) and all(r == expected for r in revisions.values())
    return result


def mirror_lag(status_path: str | Path, primary_url: str | None = None, timeout_s: float = 1.0) -> dict[str, Any]:
    """Return the mirror's sync state: ``{"ok", "synced_commit", "age_s", "sync_ok", "error"}``.

    ``age_s`` is the time since the last successful sync (an upper bound of how stale the mirror
    is). With ``primary_url`` also ``primary_commit`` and ``in_sync`` (None when the primary does
    not answer within ``timeout_s``).
    """
    status = read_status(status_path)
    if status is None:
        return {"ok": False, "synced_commit": None, "age_s": None, "sync_ok": False, "error": "no status file"}
    synced_at = status.get("synced_at")
    result: dict[str, Any] = {
        "ok": True, "synced_commit": status.get("synced_commit"),
        "age_s": None if synced_at is None else round(time.time() - float(synced_at), 3),
        "sync_ok": bool(status.get("ok")), "error": status.get("error"),
        "syncs": status.get("syncs"), "failures": status.get("failures"),
    }
    if primary_url is not None:
        try:
            result["primary_commit"] = ls_remote(primary_url, timeout_s).get(f"refs/heads/{BRANCH}")
            result["in_sync"] = result["primary_commit"] == result["synced_commit"]
        except GitError as exc:
            result.update(primary_commit=None, in_sync=None, primary_error=str(exc)[:200])
    return result
