"""Fixtures for Kubernetes tests: one fake API server per session on 127.0.0.1, cleared for each test."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import loopback_only_connect
from zerospof.k8s.clients import KubeClients
from tests.k8s.fake_apiserver import FakeKubeApiServer

CONTEXT = "fake"
@pytest.fixture(autouse=True)
def loopback_only_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection to a non-loopback address during each test of this directory (only)."""
    monkeypatch.setattr(socket.socket, "connect", loopback_only_connect)


@pytest.fixture(scope="session")
def fake_apiserver_session() -> Iterator[FakeKubeApiServer]:
    with FakeKubeApiServer() as server:
        yield server


@pytest.fixture
def fake_apiserver(fake_apiserver_session: FakeKubeApiServer) -> Iterator[FakeKubeApiServer]:
    """The session's fake API server, emptied before and after the test."""
    fake_apiserver_session.reset()
    yield fake_apiserver_session
    fake_apiserver_session.reset()


@pytest.fixture
def kubeconfig(fake_apiserver: FakeKubeApiServer, tmp_path: Path) -> str:
    """A kubeconfig file whose context ``fake`` points at the fake API server."""
    return str(fake_apiserver.write_kubeconfig(tmp_path / "kubeconfig", CONTEXT))


@pytest.fixture
def kube_params(kubeconfig: str) -> dict[str, Any]:
    """The ``kube`` params of a fault aimed at the fake API server."""
    return {"context": CONTEXT, "allowed_contexts": [CONTEXT], "kubeconfig": kubeconfig}


@pytest.fixture
def kube(kube_params: dict[str, Any]) -> KubeClients:
    return KubeClients.from_params({"kube": kube_params})
