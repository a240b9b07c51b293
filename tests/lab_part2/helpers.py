"""Helpers for the control-plane and GitOps tests: ports, bounded waits, HTTP, a write probe, a namespace."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import RequestLoop

__all__ = ["Probe", "free_ports", "http_json", "scratch_place"]


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct free TCP ports on 127.0.0.1 (held open together while choosing)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()




def http_json(method: str, url: str, body: Any = None, timeout_s: float = 2.0) -> tuple[int, Any]:
    """Send one request; return (status, parsed JSON body), status 0 when nothing answered."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None
    except (OSError, ValueError) as exc:
        return 0, {"error": f"{type(exc).__name__}: {exc}"}


def Probe(method: str, url: str, body: Any = None, interval_s: float = 0.05,  # noqa: N802 - reads like a class
          ok_statuses: tuple[int, ...] = (200, 201)) -> RequestLoop:
    """Send ``method url`` every ``interval_s`` in a thread; keep (sent, answered, ok, status) per request."""
    def request() -> tuple[bool, str]:
        status, _ = http_json(method, url, body, timeout_s=2.0)
        return status in ok_statuses, str(status)
    return RequestLoop(request, interval_s)


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, timeout=10)


@contextlib.contextmanager
def scratch_place() -> Iterator[dict[str, str]]:
    """Create a namespace wired to the host by one veth pair (a /30); always delete it afterwards.

    Yields ``{"namespace", "device", "address", "host_address"}``; ``device`` is the namespace end.
    """
    if os.geteuid() != 0:
        pytest.skip("needs root to create a network namespace")
    suffix = os.getpid() % 100000
    namespace, host_device = f"zsp2-{suffix}", f"zsp2h{suffix}"
    subnet = 10 + suffix % 200
    place = {"namespace": namespace, "device": "eth0", "address": f"10.254.{subnet}.2",
             "host_address": f"10.254.{subnet}.1"}
    try:
        _ip("netns", "add", namespace)
        _ip("link", "add", host_device, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        _ip("addr", "add", f"{place['host_address']}/30", "dev", host_device)
        _ip("link", "set", host_device, "up")
        _ip("-n", namespace, "addr", "add", f"{place['address']}/30", "dev", "eth0")
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", namespace, "link", "set", "eth0", "up")
        yield place
    finally:
        _ip("netns", "del", namespace, check=False)
        _ip("link", "del", host_device, check=False)
