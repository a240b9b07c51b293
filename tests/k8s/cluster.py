"""``TestCluster``: one test's view of the session's real API server — what it added, read back, cleaned after.

Objects go in and come out through the real API (the kubernetes client's dynamic client), as plain
dicts. ``add`` creates the object's namespace when missing and, for a Deployment or StatefulSet, waits
until the real controllers, the real scheduler and the stand-in kubelet have all its replicas ready.
``cleanup`` deletes every object of the kinds tests make (workloads, pods, Leases, disruption budgets,
Argo CD Applications, Flux Kustomizations, Nodes) in every namespace, so the next test starts empty;
namespaces stay for the next test that uses the same name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from tests.helpers import wait_for
from tests.k8s.control_plane import CONTEXT, KubeControlPlane
from tests.k8s.stand_in_kubelet import StandInKubelet

__all__ = ["KINDS", "TestCluster"]

WAIT_S = 30.0  # longest wait for the controllers (workload ready, workloads and pods gone)
WORKLOADS = ("deployments", "statefulsets", "daemonsets", "replicasets")
IDENTITY_LABEL = "apiserver.kubernetes.io/identity"  # on the kube-apiserver's own Leases in kube-system


@dataclass(frozen=True)
class _Kind:
    api_version: str
    kind: str
    namespaced: bool


KINDS = {
    "pods": _Kind("v1", "Pod", True),
    "nodes": _Kind("v1", "Node", False),
    "namespaces": _Kind("v1", "Namespace", False),
    "deployments": _Kind("apps/v1", "Deployment", True),
    "statefulsets": _Kind("apps/v1", "StatefulSet", True),
    "daemonsets": _Kind("apps/v1", "DaemonSet", True),
    "replicasets": _Kind("apps/v1", "ReplicaSet", True),
    "leases": _Kind("coordination.k8s.io/v1", "Lease", True),
    "poddisruptionbudgets": _Kind("policy/v1", "PodDisruptionBudget", True),
    "applications": _Kind("argoproj.io/v1alpha1", "Application", True),
    "kustomizations": _Kind("kustomize.toolkit.fluxcd.io/v1", "Kustomization", True),
}
_BY_KIND = {kind.kind: resource for resource, kind in KINDS.items()}


class TestCluster:
    """One test's handle on the real API server (see the module docstring)."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, api_client: Any, control_plane: KubeControlPlane, kubelet: StandInKubelet) -> None:
        self.api_client = api_client
        self.control_plane = control_plane
        self.kubelet = kubelet
        self.kubeconfig = control_plane.kubeconfig
        self.context = CONTEXT
        self.dynamic = dynamic.DynamicClient(api_client)
        self.core = client.CoreV1Api(api_client)

    def api(self, resource: str) -> Any:
        kind = KINDS[resource]
        return self.dynamic.resources.get(api_version=kind.api_version, kind=kind.kind)

    # -- writing --------------------------------------------------------------------------
    def ensure_namespace(self, namespace: str) -> None:
        """Create ``namespace`` unless it exists (namespaces stay from test to test: see ``cleanup``)."""
        try:
            self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
        except ApiException as exc:
            if exc.status != 409:
                raise

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj`` (its ``kind`` picks the resource) and return it as the server stored it."""
        resource = _BY_KIND[obj["kind"]]
        kind = KINDS[resource]
        body = {"apiVersion": kind.api_version, **obj}
        namespace = obj["metadata"].get("namespace") if kind.namespaced else None
        if namespace:
            self.ensure_namespace(namespace)
        created = self.api(resource).create(body=body, namespace=namespace).to_dict()
        if resource in ("deployments", "statefulsets"):
            self.wait_ready(resource, namespace, created["metadata"]["name"])
        return created

    def patch(self, resource: str, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """JSON-merge-patch one object; return it as stored."""
        return self.api(resource).patch(body=patch, name=name, namespace=namespace or None,
                                        content_type="application/merge-patch+json").to_dict()

    # -- reading --------------------------------------------------------------------------
    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Return one object, or None when there is none."""
        try:
            return self.api(resource).get(name=name, namespace=namespace or None).to_dict()
        except dynamic.exceptions.NotFoundError:
            return None

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Return every object of ``resource`` (in ``namespace`` when given), by namespace and name."""
        items = self.api(resource).get(namespace=namespace).to_dict()["items"]
        return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def wait_for(self, predicate: Callable[[], Any], what: str, timeout_s: float = WAIT_S) -> Any:
        """Poll ``predicate`` until truthy (bounded); fail naming ``what`` when it never is."""
        __tracebackhide__ = True
        value, waited = wait_for(predicate, timeout_s, 0.05)
        assert value, f"{what}: not after {waited:.1f} s (stand-in kubelet's last errors: {self.kubelet.errors[-3:]})"
        return value

    def wait_ready(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        """Wait until a Deployment's / StatefulSet's controller has every replica ready (and nothing more)."""
        def ready() -> dict[str, Any] | None:
            workload = self.get(resource, namespace, name)
            status, wanted = workload.get("status") or {}, workload["spec"].get("replicas", 1)
            done = (status.get("observedGeneration") == workload["metadata"]["generation"]
                    and status.get("replicas", 0) == wanted and status.get("readyReplicas", 0) == wanted)
            return workload if done else None
        return self.wait_for(ready, f"{resource} {namespace}/{name} ready")

    # -- cleaning -------------------------------------------------------------------------
    def cleanup(self) -> None:
        """Delete every object of ``KINDS`` the tests may have made, in every namespace, and every Node; return
        when they are gone (bounded). Namespaces stay: the API server deletes a namespace no sooner than 5 s
        after it is asked to (a fixed grace period of its namespace controller), so they are reused instead."""
        self.kubelet.paused.clear()
        for resource in WORKLOADS:  # foreground: the garbage collector deletes their pods first, no controller makes more
            for item in self.objects(resource):
                self._delete(resource, item, {"propagationPolicy": "Foreground"})
        self.wait_for(lambda: not any(self.objects(resource) for resource in WORKLOADS), "the tests' workloads deleted")
        for resource in ("leases", "poddisruptionbudgets", "applications", "kustomizations", "nodes"):
            for item in self.objects(resource):
                if IDENTITY_LABEL not in (item["metadata"].get("labels") or {}):
                    self._delete(resource, item, {})

        def pods_left() -> list[dict[str, Any]]:
            left = self.objects("pods")
            for item in left:
                self._delete("pods", item, {"gracePeriodSeconds": 0})
            return left
        self.wait_for(lambda: not pods_left(), "the tests' pods deleted")

    def _delete(self, resource: str, item: dict[str, Any], options: dict[str, Any]) -> None:
        try:
            self.api(resource).delete(name=item["metadata"]["name"], namespace=item["metadata"].get("namespace"),
                                      body=options)
        except dynamic.exceptions.NotFoundError:
            pass
