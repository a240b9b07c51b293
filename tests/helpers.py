"""Helpers shared by the suite's own tests."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

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
