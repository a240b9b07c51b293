"""Control-plane detection signals: plain dicts, never raising on I/O errors.

With a ``baseline`` (an earlier reading of the same signal, taken before the fault), the dict
also has ``detected``: whether the system itself has reacted (a new etcd term with a leader,
a new Kubernetes Lease holder). Without one there is no ``detected`` key.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from zerospof.lab.controlplane.etcd_http import EtcdClient, EtcdUnavailable, member_status
from zerospof.lab.kube.api import KubeApi, KubeUnavailable
from zerospof.lab.kube.election import lease_expired

__all__ = ["etcd_leader", "kube_lease"]


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


def kube_lease(api: KubeApi, name: str, baseline: dict[str, Any] | None = None,
               namespace: str = "kube-system") -> dict[str, Any]:
    """Return ``{"ok", "lease", "holder", "component", "held", "transitions"}`` for a ``coordination.k8s.io`` Lease.

    ``holder`` is the holder identity (``<hostname>_<uuid>``), ``component`` its hostname part (the lab's
    component name), ``held`` whether it was renewed within its lease duration. ``detected`` (with a baseline):
    someone holds it under a different identity than the baseline's, i.e. a new holder took it.
    """
    result: dict[str, Any] = {"ok": False, "lease": f"{namespace}/{name}", "holder": None, "component": None,
                              "held": False, "transitions": None}
    try:
        status, found = api.call("GET", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}")
    except KubeUnavailable as exc:
        return {**result, "error": str(exc)[:200], **({"detected": False} if baseline is not None else {})}
    if status == 200:
        spec = found.get("spec") or {}
        holder = spec.get("holderIdentity") or None
        result.update(ok=True, holder=holder, component=holder.split("_", 1)[0] if holder else None,
                      transitions=spec.get("leaseTransitions"), held=not lease_expired(spec))
    elif status == 404:
        result["ok"] = True
    else:
        result["error"] = f"HTTP {status}"
    if baseline is not None:
        result["detected"] = result["held"] and result["holder"] != baseline.get("holder")
    return result

