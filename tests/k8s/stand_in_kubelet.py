"""``StandInKubelet``: a test-only STAND-IN for the kubelet — not a kubelet; it runs no container.

The test control plane (``tests/k8s/control_plane.py``) has no kubelet, so no pod would ever run and a
deleted pod bound to a node would stay Terminating forever. This stand-in does, through the real API,
the two things of a kubelet the tests rely on:

- a pod bound to a node (``spec.nodeName``) that is not yet Running gets the status a kubelet reports
  once its containers started: phase ``Running``, conditions ``PodScheduled``, ``Initialized``,
  ``ContainersReady`` and ``Ready`` true, one ready container status per container. So workload
  controllers count it ready.
- a pod bound to a node with a ``deletionTimestamp`` is deleted for good (grace period 0, with the
  pod's uid as precondition), as a kubelet does once its containers stopped: at once, not after
  the grace period.

It polls every ``interval_s`` in a background thread until ``stop``. ``paused`` holds it (pods stay
Pending, deleted pods stay Terminating), e.g. to see what a slow kubelet does to a fault's check.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

__all__ = ["StandInKubelet"]


def _running_status(pod: Any) -> dict[str, Any]:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    conditions = [{"type": kind, "status": "True", "lastTransitionTime": now}
                  for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]
    containers = [{"name": c.name, "image": c.image or "none", "imageID": "", "ready": True, "restartCount": 0,
                   "started": True, "state": {"running": {"startedAt": now}}} for c in pod.spec.containers]
    return {"status": {"phase": "Running", "conditions": conditions, "containerStatuses": containers,
                       "startTime": now, "hostIP": "127.0.0.1", "podIP": "127.0.0.1"}}


class StandInKubelet:
    """A test-only STAND-IN for every node's kubelet (see the module docstring)."""

    def __init__(self, api_client: Any, interval_s: float = 0.05) -> None:
        self.core = client.CoreV1Api(api_client)
        self.interval_s = interval_s
        self.paused = threading.Event()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stand-in-kubelet", daemon=True)

    def start(self) -> StandInKubelet:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self.paused.is_set():
                continue
            try:
                self.sync()
            except (ApiException, HTTPError, OSError) as exc:  # kept for a failing test to show; the next round retries
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                del self.errors[:-20]

    def sync(self) -> None:
        """Start pending bound pods and finish deleting terminating ones, once."""
        for pod in self.core.list_pod_for_all_namespaces(field_selector="spec.nodeName!=").items:
            name, namespace = pod.metadata.name, pod.metadata.namespace
            try:
                if pod.metadata.deletion_timestamp is not None:
                    self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0,
                                                    body=client.V1DeleteOptions(
                                                        grace_period_seconds=0,
                                                        preconditions=client.V1Preconditions(uid=pod.metadata.uid)))
                elif (pod.status.phase if pod.status else None) != "Running":
                    self.core.patch_namespaced_pod_status(name, namespace, _running_status(pod))
            except ApiException as exc:
                if exc.status not in (404, 409):  # gone, or changed meanwhile: the next round sees it
                    raise
