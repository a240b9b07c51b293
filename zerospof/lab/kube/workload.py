"""The app as a Kubernetes Deployment: one pod per AZ Node, spread by the real kube-scheduler.

The pods are how Kubernetes sees the lab's app replicas: each AZ's node agent (:mod:`.node_agent`) reports its
pod Running and Ready while that AZ's app replica (the real process users reach) answers; no container runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zerospof.lab import topology as t
from zerospof.lab.controlplane import layout
from zerospof.lab.controlplane.probes import admin_api
from zerospof.lab.kube.api import KubeUnavailable

__all__ = ["APP_LABELS", "app_deployment", "deploy_app"]

APP_LABELS = {"app.kubernetes.io/name": "zerospof-lab-app"}


def app_deployment(replicas: int) -> dict[str, Any]:
    """The Deployment ``zerospof-lab/app``: ``replicas`` pods, at most one more in any zone than in another."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": layout.APP_DEPLOYMENT, "namespace": layout.APP_NAMESPACE, "labels": APP_LABELS},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": APP_LABELS},
            "template": {"metadata": {"labels": APP_LABELS}, "spec": {
                "terminationGracePeriodSeconds": 5,
                "containers": [{"name": "app", "image": "zerospof.local/lab-app:stand-in",
                                "ports": [{"containerPort": t.APP_PORT}]}],
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                               "whenUnsatisfiable": "DoNotSchedule", "labelSelector":
                                                   {"matchLabels": APP_LABELS}}]}},
        },
    }


def deploy_app(state_dir: Path) -> bool:
    """Create the app's namespace and Deployment once every AZ's Node is Ready; True once the Deployment exists.

    False (not yet) while the API does not answer or a Node is missing or not Ready. Idempotent.
    """
    api = admin_api(state_dir, 1.0)
    try:
        status, nodes = api.call("GET", "/api/v1/nodes")
        if status != 200:
            return False
        ready = [node for node in nodes.get("items", []) if any(
            c["type"] == "Ready" and c["status"] == "True" for c in node.get("status", {}).get("conditions") or [])
            and not any(taint.get("key") == "node.kubernetes.io/not-ready" for taint in node["spec"].get("taints") or [])]
        if len(ready) < len(t.ZONES):
            return False
        for path, body in [
            ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": layout.APP_NAMESPACE}}),
            (f"/api/v1/namespaces/{layout.APP_NAMESPACE}/serviceaccounts",
             {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}),
            (f"/apis/apps/v1/namespaces/{layout.APP_NAMESPACE}/deployments", app_deployment(len(t.ZONES))),
        ]:
            status, answer = api.call("POST", path, body)
            if status not in (201, 409):
                return False
    except KubeUnavailable:
        return False
    return True
