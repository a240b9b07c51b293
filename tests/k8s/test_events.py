"""Kubernetes events around t0 for the report, read through the boundary (small and self-contained, so it can
move to the real kube-apiserver as it is: it only creates core/v1 Events and lists them back)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.k8s.fake_apiserver import FakeKubeApiServer
from zerospof.cloud.boundary import CloudApiError
from zerospof.k8s.clients import KubeClients
from zerospof.k8s.events import namespace_events

T0 = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def _event(name: str, namespace: str, seconds_from_t0: float, reason: str, message: str, count: int = 1) -> dict:
    stamp = (T0 + dt.timedelta(seconds=seconds_from_t0)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"kind": "Event", "metadata": {"name": name, "namespace": namespace}, "type": "Warning", "reason": reason,
            "message": message, "count": count, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "involvedObject": {"kind": "Node", "name": "ip-10-0-1-5", "namespace": namespace}}


def test_events_in_the_window_are_read_oldest_first_with_their_time(fake_apiserver: FakeKubeApiServer,
                                                                    kube: KubeClients) -> None:
    fake_apiserver.add(_event("late", "default", 30, "NodeNotReady", "Node ip-10-0-1-5 status is now: NodeNotReady", 3))
    fake_apiserver.add(_event("early", "default", -5, "Rebooted", "Node ip-10-0-1-5 has been rebooted"))
    fake_apiserver.add(_event("before-window", "default", -600, "Old", "long before"))
    fake_apiserver.add(_event("other-namespace", "kube-system", 1, "Elsewhere", "not this namespace"))
    t0 = T0.timestamp()
    lines = namespace_events(kube, "default", t0 - 60, t0 + 600, "kubernetes-events primary/default")
    assert [(line.t_wall - t0, line.text) for line in lines] == [
        (-5, "Warning Rebooted Node/ip-10-0-1-5: Node ip-10-0-1-5 has been rebooted"),
        (30, "Warning NodeNotReady Node/ip-10-0-1-5: Node ip-10-0-1-5 status is now: NodeNotReady (x3)")]


def test_events_that_cannot_be_read_raise_the_boundarys_error(fake_apiserver: FakeKubeApiServer, tmp_path: Path) -> None:
    kubeconfig = fake_apiserver.write_kubeconfig(tmp_path / "kubeconfig", "fake")
    kubeconfig.write_text(kubeconfig.read_text().replace(fake_apiserver.token, "a-wrong-token"))
    kube = KubeClients("fake", ["fake"], str(kubeconfig))
    with pytest.raises(CloudApiError) as raised:
        namespace_events(kube, "default", 0, T0.timestamp(), "kubernetes-events primary/default")
    assert raised.value.code == "401" and raised.value.operation == "list_namespaced_event"
