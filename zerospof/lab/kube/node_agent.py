"""The lab's node agent: a STAND-IN for the kubelet of one AZ's Node — not a kubelet; it runs no container.

Run as ``python -m zerospof.lab.kube.node_agent --node NAME --zone ZONE --region REGION --kubeconfig PATH
--servers URL[,URL...] --app-health URL``, one per AZ, in that AZ's network namespace (so an AZ loss silences it).
Through the real API, as the node's own identity (``system:node:NAME``), it does what the lab needs of a kubelet:

- registers its Node (labels ``topology.kubernetes.io/zone`` / ``region``, capacity for 110 pods);
- renews the Node's Lease in ``kube-node-lease`` every ``--interval`` seconds and posts the Node's ``Ready``
  condition every ``STATUS_EVERY_S`` seconds: the real node lifecycle controller of kube-controller-manager marks
  the Node NotReady (``Unknown``) when both stop, i.e. when the AZ is lost or this agent is killed;
- reports each pod bound to its Node as a kubelet would once its container runs (phase ``Running``), with the
  pod's ``Ready`` condition = whether the AZ's app replica (the real process the supervisor runs, which serves
  the users) answers ``--app-health``: the pod is how Kubernetes sees that replica, the container is not real;
- finishes deleting a pod of its Node that has a ``deletionTimestamp`` (grace period 0), as a kubelet does.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


from zerospof.lab.kube.api import KubeApi, KubeUnavailable

__all__ = ["NodeAgent", "main"]

STATUS_EVERY_S = 5.0
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
STRATEGIC = "application/strategic-merge-patch+json"


def _now(micro: bool = False) -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


class NodeAgent:
    """One AZ's Node, its Lease and its pods (see the module docstring)."""

    def __init__(self, api: KubeApi, node: str, zone: str, region: str, address: str, app_health: str) -> None:
        self.api, self.node, self.zone, self.region = api, node, zone, region
        self.address, self.app_health = address, app_health
        self.started_at = _now()
        self.lease: dict[str, Any] | None = None
        self.status_posted_at = 0.0
        self.app_ready: bool | None = None

    def step(self) -> None:
        """One round: lease, node status (when due or the app's readiness changed), pods. Raises KubeUnavailable."""
        app_ready = self._app_ready()
        self._renew_lease()
        if time.monotonic() - self.status_posted_at >= STATUS_EVERY_S or app_ready != self.app_ready:
            self._post_status()
        self.app_ready = app_ready
        self._sync_pods(app_ready)

    def _app_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.app_health, timeout=0.5) as reply:
                return reply.status == 200
        except OSError:
            return False

    def _renew_lease(self) -> None:
        path = f"{LEASES}/{self.node}"
        if self.lease is None:
            status, found = self.api.call("GET", path)
            if status == 404:
                body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": self.node, "namespace": "kube-node-lease"},
                        "spec": {"holderIdentity": self.node, "leaseDurationSeconds": 40, "renewTime": _now(True)}}
                status, found = self.api.call("POST", LEASES, body)
            if status not in (200, 201):
                raise KubeUnavailable(f"lease {path}: HTTP {status} {found}")
            self.lease = found
            return
        self.lease["spec"]["renewTime"] = _now(True)
        status, found = self.api.call("PUT", path, self.lease)
        self.lease = found if status == 200 else None  # 409 or gone: read it again next round

    def _ensure_node(self) -> None:
        status, found = self.api.call("GET", f"/api/v1/nodes/{self.node}")
        if status == 404:
            labels = {"kubernetes.io/hostname": self.node, "kubernetes.io/os": "linux",
                      "topology.kubernetes.io/zone": self.zone, "topology.kubernetes.io/region": self.region}
            status, found = self.api.call("POST", "/api/v1/nodes", {
                "apiVersion": "v1", "kind": "Node", "metadata": {"name": self.node, "labels": labels}})
        if status not in (200, 201):
            raise KubeUnavailable(f"node {self.node}: HTTP {status} {found}")

    def _post_status(self) -> None:
        resources = {"cpu": "2", "memory": "4Gi", "pods": "110"}
        now = _now()
        body = {"status": {
            "capacity": resources, "allocatable": resources,
            "addresses": [{"type": "InternalIP", "address": self.address}, {"type": "Hostname", "address": self.node}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "ZerospofNodeAgentReady",
                            "message": "zerospof lab node agent (a kubelet stand-in) is posting status",
                            "lastHeartbeatTime": now, "lastTransitionTime": self.started_at}],
            "nodeInfo": {"kubeletVersion": "zerospof-node-agent", "operatingSystem": "linux", "architecture": "amd64",
                         "machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "", "osImage": "",
                         "containerRuntimeVersion": "", "kubeProxyVersion": ""}}}
        status, found = self.api.call("PATCH", f"/api/v1/nodes/{self.node}/status", body, content_type=STRATEGIC)
        if status == 404:
            self._ensure_node()
            status, found = self.api.call("PATCH", f"/api/v1/nodes/{self.node}/status", body, content_type=STRATEGIC)
        if status != 200:
            raise KubeUnavailable(f"node status {self.node}: HTTP {status} {found}")
        self.status_posted_at = time.monotonic()

    def _sync_pods(self, app_ready: bool) -> None:
        status, found = self.api.call("GET", f"/api/v1/pods?fieldSelector=spec.nodeName%3D{self.node}")
        if status != 200:
            raise KubeUnavailable(f"pods of {self.node}: HTTP {status} {found}")
        for pod in found.get("items", []):
            meta = pod["metadata"]
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
            if meta.get("deletionTimestamp"):
                self.api.call("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                                               "preconditions": {"uid": meta["uid"]}})
                continue
            if _pod_ready(pod) != app_ready or pod.get("status", {}).get("phase") != "Running":
                self.api.call("PATCH", f"{path}/status", self._pod_status(pod, app_ready), content_type=STRATEGIC)

    def _pod_status(self, pod: dict[str, Any], ready: bool) -> dict[str, Any]:
        now, flag = _now(), "True" if ready else "False"
        started = pod.get("status", {}).get("startTime") or now
        conditions = [{"type": kind, "status": "True", "lastTransitionTime": started}
                      for kind in ("PodScheduled", "Initialized")]
        conditions += [{"type": kind, "status": flag, "lastTransitionTime": now} for kind in ("ContainersReady", "Ready")]
        containers = [{"name": c["name"], "image": c.get("image") or "none", "imageID": "", "ready": ready,
                       "restartCount": 0, "started": True, "state": {"running": {"startedAt": started}}}
                      for c in pod["spec"]["containers"]]
        return {"status": {"phase": "Running", "conditions": conditions, "containerStatuses": containers,
                           "startTime": started, "hostIP": self.address, "podIP": self.address,
                           "hostIPs": [{"ip": self.address}], "podIPs": [{"ip": self.address}]}}


def _pod_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in pod.get("status", {}).get("conditions") or [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zerospof.lab.kube.node_agent")
    for flag in ("--node", "--zone", "--region", "--address", "--kubeconfig", "--servers", "--app-health"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between rounds")
    args = parser.parse_args(argv)
    api = KubeApi.from_kubeconfig(Path(args.kubeconfig), timeout_s=1.5, servers=args.servers.split(","))
    agent = NodeAgent(api, args.node, args.zone, args.region, args.address, args.app_health)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    print(f"node agent {args.node} ({args.zone}) started, API {args.servers}", flush=True)
    failing = False
    while not stop.is_set():
        try:
            agent.step()
            if failing:
                print(f"node agent {args.node}: API reachable again", flush=True)
            failing = False
        except KubeUnavailable as exc:
            if not failing:
                print(f"node agent {args.node}: {str(exc)[:300]}", flush=True)
            failing = True
        stop.wait(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
