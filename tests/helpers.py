"""Helpers shared by the suite's own tests."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces")


@contextmanager
def scratch_namespace(device: str = "zsdummy0") -> Iterator[str]:
    """Create a network namespace with one veth link (peer ``<device>p``) set up; delete it afterwards."""
    name = f"zs-test-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", device, "type", "veth", "peer", "name", f"{device}p"],
                       check=True)
        subprocess.run(["ip", "-n", name, "link", "set", device, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def wait_for(predicate: Callable[[], Any], timeout_s: float, interval_s: float = 0.05) -> tuple[Any, float]:
    """Poll ``predicate`` until truthy (bounded in count and time); return (last value, seconds waited)."""
    started = time.monotonic()
    value = predicate()
    for _ in range(int(timeout_s / interval_s) + 1):
        if value or time.monotonic() - started >= timeout_s:
            break
        time.sleep(interval_s)
        value = predicate()
    return value, time.monotonic() - started


_real_connect = socket.socket.connect


def loopback_only_connect(self: socket.socket, address: Any) -> Any:
    """``socket.connect`` that fails any connection to a non-loopback address (patched in by test dirs)."""
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise AssertionError(f"test tried to reach {address!r}: only loopback is allowed")
    return _real_connect(self, address)
