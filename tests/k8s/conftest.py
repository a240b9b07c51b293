"""Kubernetes tests run against a real API server: fixtures in ``tests/k8s/fixtures.py`` (loaded for every test
directory by the root ``conftest.py``). Here: the loopback-only network guard of this directory."""

from __future__ import annotations

import socket

import pytest

from tests.helpers import loopback_only_connect


@pytest.fixture(autouse=True)
def loopback_only_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection to a non-loopback address during each test of this directory (only)."""
    monkeypatch.setattr(socket.socket, "connect", loopback_only_connect)
