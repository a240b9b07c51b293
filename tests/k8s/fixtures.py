"""Fixtures of the real Kubernetes API for tests (a pytest plugin, loaded by the root ``conftest.py``).

- ``kube_control_plane`` (session): a real etcd + kube-apiserver + kube-controller-manager + kube-scheduler
  on 127.0.0.1 (``tests/k8s/control_plane.py``), the CRDs of ``tests/k8s/crds/`` installed, and the
  test-only stand-in kubelet (``tests/k8s/stand_in_kubelet.py``) running. Started on first use, once per
  session. Without the binaries ``bin/setup`` builds, every test using it fails (SetupError naming bin/setup).
- ``cluster``: one test's handle on it (``tests/k8s/cluster.py``), cleaned after the test.
- ``kubeconfig``, ``kube_params``, ``kube``: a kubeconfig file, a fault's ``kube`` params and
  ``KubeClients`` for its context ``CONTEXT``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tests.helpers import wait_for
from tests.k8s.cluster import TestCluster
from tests.k8s.control_plane import CONTEXT, KubeControlPlane
from tests.k8s.stand_in_kubelet import StandInKubelet
from zerospof.k8s.clients import KubeClients

CRDS = Path(__file__).resolve().parent / "crds"


@dataclass
class RealKube:
    """The session's control plane, an API client of its admin, and the stand-in kubelet."""

    control_plane: KubeControlPlane
    api_client: Any
    kubelet: StandInKubelet


def install_crds(api_client: Any, timeout_s: float = 30.0) -> None:
    """Create every CRD of ``tests/k8s/crds/`` and wait until the API serves each (Established)."""
    extensions = client.ApiextensionsV1Api(api_client)
    names = []
    for path in sorted(CRDS.glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        extensions.create_custom_resource_definition(document)
        names.append(document["metadata"]["name"])

    def established() -> bool:
        return all(any(c.type == "Established" and c.status == "True"
                       for c in (extensions.read_custom_resource_definition(name).status.conditions or []))
                   for name in names)
    assert wait_for(established, timeout_s)[0], f"CRDs {names} not established after {timeout_s:.0f} s"


@pytest.fixture(scope="session")
def kube_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealKube]:
    with KubeControlPlane(tmp_path_factory.mktemp("kube-control-plane")) as control_plane:
        api_client = config.new_client_from_config(str(control_plane.kubeconfig), context=CONTEXT)
        install_crds(api_client)
        kubelet = StandInKubelet(config.new_client_from_config(str(control_plane.kubeconfig), context=CONTEXT)).start()
        try:
            yield RealKube(control_plane, api_client, kubelet)
        finally:
            kubelet.stop()


@pytest.fixture
def cluster(kube_control_plane: RealKube) -> Iterator[TestCluster]:
    """The real API server for one test: what the test adds is deleted afterwards."""
    kube_control_plane.control_plane.check_running()
    handle = TestCluster(kube_control_plane.api_client, kube_control_plane.control_plane, kube_control_plane.kubelet)
    try:
        yield handle
    finally:
        handle.cleanup()


@pytest.fixture
def kubeconfig(cluster: TestCluster) -> str:
    """A kubeconfig file whose context ``CONTEXT`` reaches the real API server as its admin."""
    return str(cluster.kubeconfig)


@pytest.fixture
def kube_params(kubeconfig: str) -> dict[str, Any]:
    """The ``kube`` params of a fault aimed at the real API server."""
    return {"context": CONTEXT, "allowed_contexts": [CONTEXT], "kubeconfig": kubeconfig}


@pytest.fixture
def kube(kube_params: dict[str, Any]) -> KubeClients:
    return KubeClients.from_params({"kube": kube_params})
