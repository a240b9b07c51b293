"""What the lab driver observes for the ``control-plane`` scenario: detection signals, API writes, recovery.

Detection signals are the control plane's own reactions, each a probe returning ``{"detected", ...}``:

- :func:`etcd_leader_signal`: etcd elected a leader in a newer raft term than the first reading;
- :func:`lease_signal`: a Lease in ``kube-system`` (``kube-scheduler``, ``kube-controller-manager``) is held by
  a new holder (the standby took it);
- :func:`api_lb_signal`: an API load-balancer node marked the killed kube-apiserver DOWN;
- :func:`nodes_not_ready_signal` (AZ loss): the node lifecycle controller marked the lost AZ's Node not Ready.

The baseline of the first two is their first good reading (the samplers start a few seconds before
the fault); only samples at or after t0 count for detection. Every API call goes through the API load
balancer with the admin's client certificate (``<state dir>/kubeconfig``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zerospof.lab import signals as lab_signals
from zerospof.lab import topology as t
from zerospof.lab.controlplane import layout
from zerospof.lab.controlplane.signals import etcd_leader, kube_lease
from zerospof.lab.kube.api import KubeApi, KubeUnavailable
from zerospof.monitors import ProbeFailed

__all__ = ["PROBE_CONFIGMAP", "admin_api", "api_lb_signal", "api_writer", "etcd_leader_signal", "lease_signal",
           "nodes_not_ready_signal", "nodes_ready", "recovered", "workloads"]

PROBE_CONFIGMAP = "zerospof-api-write-probe"  # the ConfigMap API write probes update (in the app's namespace)
LEASES = ("kube-scheduler", "kube-controller-manager")


def admin_api(state_dir: Path, timeout_s: float = 2.0, first_zone: str | None = None) -> KubeApi:
    """A client of the API through both API LB nodes (``first_zone``'s first), as the lab's admin."""
    pki = layout.pki_dir(state_dir)
    return KubeApi(layout.api_lb_urls(first_zone), pki / "ca.crt", pki / "admin.crt", pki / "admin.key",
                   timeout_s=timeout_s)


def api_writer(state_dir: Path) -> Callable[..., dict[str, Any]]:
    """Return a probe that updates (creating it once) the probe ConfigMap through the API LB; ProbeFailed when it cannot."""
    path = f"/api/v1/namespaces/{layout.APP_NAMESPACE}/configmaps"

    def write(timeout_s: float = 2.0) -> dict[str, Any]:
        api = admin_api(state_dir, timeout_s)
        body = {"data": {"at": f"{time.time():.3f}"}}
        try:
            status, answer = api.call("PATCH", f"{path}/{PROBE_CONFIGMAP}", body,
                                      content_type="application/merge-patch+json")
            if status == 404:
                status, answer = api.call("POST", path, {"apiVersion": "v1", "kind": "ConfigMap",
                                                         "metadata": {"name": PROBE_CONFIGMAP}, **body})
        except KubeUnavailable as exc:
            raise ProbeFailed(str(exc)) from exc
        if status not in (200, 201):
            raise ProbeFailed(f"HTTP {status} from {api.last_server}: {str(answer)[:200]}")
        return {"status": status, "lb": api.last_server,
                "resource_version": (answer.get("metadata") or {}).get("resourceVersion")}
    return write


def workloads(state_dir: Path, timeout_s: float = 1.0) -> dict[str, Any]:
    """The app Deployment through the API: ``{"ok", "replicas", "available", "ready"}`` (ok: every replica available)."""
    try:
        status, found = admin_api(state_dir, timeout_s).call(
            "GET", f"/apis/apps/v1/namespaces/{layout.APP_NAMESPACE}/deployments/{layout.APP_DEPLOYMENT}")
    except KubeUnavailable as exc:
        return {"ok": False, "error": str(exc)[:200]}
    if status != 200:
        return {"ok": False, "error": f"HTTP {status}"}
    wanted, state = found["spec"].get("replicas", 1), found.get("status") or {}
    available = state.get("availableReplicas", 0)
    return {"ok": available == wanted and state.get("observedGeneration") == found["metadata"]["generation"],
            "replicas": wanted, "available": available, "ready": state.get("readyReplicas", 0)}


def nodes_ready(state_dir: Path, timeout_s: float = 1.0, first_zone: str | None = None) -> dict[str, bool]:
    """``{Node name: its Ready condition is True}`` through the API (empty when the API does not answer)."""
    try:
        status, found = admin_api(state_dir, timeout_s, first_zone).call("GET", "/api/v1/nodes")
    except KubeUnavailable:
        return {}
    return {node["metadata"]["name"]: any(c["type"] == "Ready" and c["status"] == "True"
                                          for c in node.get("status", {}).get("conditions") or [])
            for node in (found.get("items", []) if status == 200 else [])}


def _with_baseline(read: Callable[[dict[str, Any] | None], dict[str, Any]], good: Callable[[dict[str, Any]], bool],
                   keys: tuple[str, ...]) -> Callable[[], dict[str, Any]]:
    baseline: dict[str, Any] = {}

    def probe() -> dict[str, Any]:
        if not baseline:
            first = read(None)
            if not good(first):
                return {"detected": False, "baseline": None}
            baseline.update({key: first[key] for key in keys})
        found = read(dict(baseline))
        return {"detected": bool(found.get("detected")), "baseline": dict(baseline),
                **{key: found.get(key) for key in keys}}
    return probe


def etcd_leader_signal(timeout_s: float = 0.3) -> Callable[[], dict[str, Any]]:
    """Probe: ``detected`` once etcd has a leader in a newer raft term than the baseline."""
    endpoints = layout.etcd_endpoints()
    return _with_baseline(lambda baseline: etcd_leader(endpoints, baseline, timeout_s),
                          lambda view: bool(view["leader_id"]), ("leader", "leader_id", "raft_term"))


def lease_signal(state_dir: Path, lease: str, timeout_s: float = 0.5) -> Callable[[], dict[str, Any]]:
    """Probe: ``detected`` once the Lease ``kube-system/<lease>`` is held by another holder than the baseline's."""
    return _with_baseline(lambda baseline: kube_lease(admin_api(state_dir, timeout_s), lease, baseline),
                          lambda view: view["held"], ("holder", "component", "transitions"))


def nodes_not_ready_signal(state_dir: Path, lost: list[str], timeout_s: float = 0.5) -> Callable[[], dict[str, Any]]:
    """Probe: ``detected`` once the node lifecycle controller has marked every lost zone's Node not Ready (its
    node agent's Lease renewals stopped), read through a surviving API LB node."""
    survivors = [zone for zone in t.LB_ZONES[t.REGIONS[0]] if zone not in lost]
    nodes = [layout.node_name(zone) for zone in lost]

    def probe() -> dict[str, Any]:
        ready = nodes_ready(state_dir, timeout_s, survivors[0] if survivors else None)
        not_ready = sorted(node for node in nodes if ready.get(node) is False)
        return {"detected": bool(ready) and not_ready == sorted(nodes), "not_ready": not_ready}
    return probe


def api_lb_signal(state_dir: Path, replica: str, timeout_s: float = 0.3) -> Callable[[], dict[str, Any]]:
    """Probe: ``detected`` once an API LB node that answers marks ``replica`` (``cp-api-r1-a``) not UP."""
    server = f"api/{replica}"
    lb_names = {f"lb-{zone}" for zone in t.LB_ZONES[t.REGIONS[0]]}

    def probe() -> dict[str, Any]:
        view = lab_signals.haproxy_servers(state_dir, timeout_s)
        down = sorted(f"{lb}:{server}" for lb, state in view.items()
                      if lb in lb_names and state["ok"] and state["servers"].get(server, "UP") != "UP")
        return {"detected": bool(down), "down": down}
    return probe


def recovered(state_dir: Path) -> dict[str, Any]:
    """Return ``{"recovered": bool, ...}``: etcd has a leader and a quorum, a live kube-scheduler and
    kube-controller-manager hold their Leases, every replica of the app Deployment is available, and an API
    write through the API LB works."""
    endpoints = layout.etcd_endpoints()
    leader = etcd_leader(endpoints, timeout_s=0.3)
    answering = sum(1 for view in leader["members"].values() if view["ok"])
    api = admin_api(state_dir, 1.0)
    holders = {lease: kube_lease(api, lease) for lease in LEASES}
    view: dict[str, Any] = {"etcd_leader": leader["leader"], "etcd_answering": answering,
                            **{lease: holders[lease]["component"] if holders[lease]["held"] else None
                               for lease in LEASES},
                            "workloads": workloads(state_dir)}
    if (not leader["leader"] or answering < len(endpoints) // 2 + 1 or not all(h["held"] for h in holders.values())
            or not view["workloads"]["ok"]):
        return {"recovered": False, **view}
    try:
        view["api_write"] = api_writer(state_dir)(timeout_s=1.0)
    except ProbeFailed as exc:
        return {"recovered": False, **view, "api_write": str(exc)}
    return {"recovered": True, **view}
