"""Control-plane detection signals: plain dicts, never raising on I/O errors.

With a ``baseline`` (an earlier reading of the same signal, taken before the fault), the dict
also has ``detected``: whether the system itself has reacted (a new etcd term with a leader,
a new lease holder). Without one there is no ``detected`` key.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from zerospof.lab.controlplane.etcd_http import EtcdClient, EtcdUnavailable, member_status

__all__ = ["api_health", "etcd_leader", "lease_holder"]


def etcd_leader(endpoints: list[str], baseline: dict[str, Any] | None = None,
                timeout_s: float = 0.3) -> dict[str, Any]:
    """Return ``{"ok", "leader", "leader_id", "raft_term", "members": {endpoint: view}}``.

    The leader is the one reported by the answering member with the highest raft term; ``leader``
    is its member name. ``detected`` (with a baseline): a leader exists in a newer term.
    """
    def ask(endpoint: str) -> dict[str, Any]:
        try:
            return {"ok": True, **member_status(endpoint, timeout_s)}
        except EtcdUnavailable as exc:
            return {"ok": False, "error": str(exc)[:200]}
    with ThreadPoolExecutor(len(endpoints)) as pool:
        views = dict(zip(endpoints, pool.map(ask, endpoints)))
    answering = [view for view in views.values() if view["ok"]]
    result: dict[str, Any] = {"ok": bool(answering), "leader": None, "leader_id": None, "raft_term": None,
                              "members": views}
    if answering:
        best = max(answering, key=lambda view: view["raft_term"])
        result["raft_term"] = best["raft_term"]
        if best["leader_id"]:
            result["leader_id"] = best["leader_id"]
            live = [endpoint for endpoint, view in views.items() if view["ok"]]
            try:
                names = EtcdClient(live, timeout_s=timeout_s).members()
                result["leader"] = names.get(best["leader_id"], {}).get("name")
            except EtcdUnavailable as exc:
                result["error"] = str(exc)[:200]
    if baseline is not None:
        result["detected"] = bool(result["leader_id"]) and (result["raft_term"] or 0) > (baseline.get("raft_term") or 0)
    return result


def lease_holder(endpoints: list[str], key: str, baseline: dict[str, Any] | None = None,
                 timeout_s: float = 0.3) -> dict[str, Any]:
    """Return ``{"ok", "key", "holder", "held_since_revision", "lease"}`` for a leader key.

    ``detected`` (with a baseline): someone holds the key under a different create revision,
    i.e. a new term of leadership started (the holder may be the same name, re-elected).
    """
    result: dict[str, Any] = {"ok": False, "key": key, "holder": None, "held_since_revision": None, "lease": None}
    try:
        found = EtcdClient(endpoints, timeout_s=timeout_s).get(key)
        result["ok"] = True
        if found is not None:
            result.update(holder=found.value, held_since_revision=found.create_revision, lease=found.lease)
    except EtcdUnavailable as exc:
        result["error"] = str(exc)[:200]
    if baseline is not None:
        result["detected"] = (result["holder"] is not None
                              and result["held_since_revision"] != baseline.get("held_since_revision"))
    return result


def api_health(url: str, timeout_s: float = 1.0) -> dict[str, Any]:
    """GET ``url`` (the API LB's ``/health``): ``{"ok", "status", "healthy", "served_by"}``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body = json.load(response)
            return {"ok": True, "status": response.status, "healthy": response.status == 200,
                    "served_by": body.get("name")}
    except urllib.error.HTTPError as exc:
        return {"ok": True, "status": exc.code, "healthy": False, "served_by": None}
    except (OSError, ValueError) as exc:
        return {"ok": False, "status": None, "healthy": False, "served_by": None,
                "error": f"{type(exc).__name__}: {exc}"[:200]}
