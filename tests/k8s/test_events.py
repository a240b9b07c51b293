"""Kubernetes events around t0 for the report, read through the boundary.

Small and self-contained so it can move to a real kube-apiserver as it is: it only needs the ``kube`` and
``kube_params`` fixtures, creates core/v1 Events through the API and lists them back.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from zerospof.cloud.boundary import CloudApiError
from zerospof.k8s.clients import KubeClients
from zerospof.k8s.events import namespace_events

T0 = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def _event(name: str, seconds_from_t0: float, reason: str, message: str, count: int = 1,
           involved: dict[str, str] | None = None) -> dict[str, Any]:
    stamp = (T0 + dt.timedelta(seconds=seconds_from_t0)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name}, "type": "Warning", "reason": reason,
            "message": message, "count": count, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "involvedObject": involved or {"kind": "Node", "name": "ip-10-0-1-5"},
            "source": {"component": "zerospof-test"}}


def test_events_in_the_window_are_read_oldest_first_with_their_time(kube: KubeClients) -> None:
    created = []
    try:
        for namespace, event in (("default", _event("late", 30, "NodeNotReady", "Node ip-10-0-1-5 status is now: NodeNotReady", 3)),
                                 ("default", _event("early", -5, "Rebooted", "Node ip-10-0-1-5 has been rebooted")),
                                 ("default", _event("before-window", -600, "Old", "long before")),
                                 ("kube-system", _event("other-namespace", 1, "Elsewhere", "not this namespace",  # the API server wants
                                                         involved={"kind": "Pod", "name": "coredns-0",  # a namespaced
                                                                   "namespace": "kube-system"}))):
            kube.core.create_namespaced_event(namespace, event)
            created.append((namespace, event["metadata"]["name"]))
        t0 = T0.timestamp()
        lines = namespace_events(kube, "default", t0 - 60, t0 + 600, "kubernetes-events primary/default")
        assert [(line.t_wall - t0, line.text) for line in lines] == [
            (-5, "Warning Rebooted Node/ip-10-0-1-5: Node ip-10-0-1-5 has been rebooted"),
            (30, "Warning NodeNotReady Node/ip-10-0-1-5: Node ip-10-0-1-5 status is now: NodeNotReady (x3)")]
    finally:  # the session's API server is shared: leave it as found
        for namespace, name in created:
            kube.core.delete_namespaced_event(name, namespace)


def test_events_that_cannot_be_read_raise_the_boundarys_error(kube_params: dict[str, Any], tmp_path: Path) -> None:
    config = yaml.safe_load(Path(kube_params["kubeconfig"]).read_text())
    for user in config["users"]:
        user["user"] = {"token": "a-wrong-token"}
    wrong = tmp_path / "wrong-kubeconfig"
    wrong.write_text(yaml.safe_dump(config))
    kube = KubeClients(kube_params["context"], kube_params["allowed_contexts"], str(wrong))
    with pytest.raises(CloudApiError) as raised:
        namespace_events(kube, "default", 0, T0.timestamp(), "kubernetes-events primary/default")
    assert raised.value.code == "401" and raised.value.operation == "list_namespaced_event"
