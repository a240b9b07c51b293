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
from zerospof.lab.gitops import reconciler
from zerospof.lab.kube.api import KubeUnavailable

__all__ = ["APP_LABELS", "app_deployment", "deploy_app", "prepare_namespace", "rbac"]

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


def rbac(namespace: str = layout.APP_NAMESPACE) -> list[tuple[str, dict[str, Any]]]:
    """(collection path, object) of the Roles and RoleBindings in the app's ``namespace``: the GitOps reconcilers
    elect through their Lease and write the app's revision ConfigMap; the app replicas read that ConfigMap."""
    rules = {layout.GITOPS_USER: [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "update"]}],
        layout.APP_USER: [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"],
                           "resourceNames": [reconciler.CONFIGMAP]}]}
    base = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    found: list[tuple[str, dict[str, Any]]] = []
    for user, user_rules in rules.items():
        meta = {"name": user, "namespace": namespace}
        found += [(f"{base}/roles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
                                      "rules": user_rules}),
                  (f"{base}/rolebindings", {
                      "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
                      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": user},
                      "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})]
    return found


def _create_all(api: Any, objects: list[tuple[str, dict[str, Any]]]) -> bool:
    """POST each object; True when each was created or already existed."""
    for path, body in objects:
        status, _answer = api.call("POST", path, body)
        if status not in (201, 409):
            return False
    return True


def prepare_namespace(state_dir: Path) -> bool:
    """Create the app's namespace, its default ServiceAccount and :func:`rbac` (what the GitOps reconcilers need
    before they can elect); True once they exist, False while the API does not answer. Idempotent."""
    try:
        return _create_all(admin_api(state_dir, 1.0), [
            ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": layout.APP_NAMESPACE}}),
            (f"/api/v1/namespaces/{layout.APP_NAMESPACE}/serviceaccounts",
             {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}),
            *rbac()])
    except KubeUnavailable:
        return False


def deploy_app(state_dir: Path) -> bool:
    """Create the app's Deployment (after :func:`prepare_namespace`) once every AZ's Node is Ready; True once it
    exists. False (not yet) while the API does not answer or a Node is missing or not Ready. Idempotent.
    """
    if not prepare_namespace(state_dir):
        return False
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
        return _create_all(api, [(f"/apis/apps/v1/namespaces/{layout.APP_NAMESPACE}/deployments",
                                  app_deployment(len(t.ZONES)))])
    except KubeUnavailable:
        return False
