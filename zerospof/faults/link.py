"""``LinkDown``: set network links down (in a namespace or on the host), a real partition."""

from __future__ import annotations

import subprocess
from typing import Any

from zerospof.errors import FaultError, FaultNotInEffect
from zerospof.faults.base import Fault

__all__ = ["LinkDown", "link_is_up", "namespace_exists"]


def _ip(namespace: str | None, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = ["ip"] + (["-n", namespace] if namespace else []) + list(args)
    result = subprocess.run(command, capture_output=True, text=True, timeout=10)
    if check and result.returncode != 0:
        raise FaultError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return result


def namespace_exists(namespace: str | None) -> bool:
    """Return True for the host (None) or an existing named network namespace."""
    if namespace is None:
        return True
    result = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return any(line.split()[0] == namespace for line in result.stdout.splitlines() if line.strip())


def link_is_up(namespace: str | None, device: str) -> bool | None:
    """Return whether ``device`` is administratively up, or None when it does not exist."""
    result = _ip(namespace, "-o", "link", "show", "dev", device, check=False)
    if result.returncode != 0:
        return None
    flags = result.stdout.split("<", 1)[1].split(">", 1)[0].split(",")
    return "UP" in flags


class LinkDown(Fault):
    """Set links down; revert sets up exactly the links that were up before.

    params: ``{"links": [{"namespace": "zs-r1-a" | None, "device": "eth0"}, ...]}``.
    Revert is idempotent and skips links (or namespaces) that no longer exist.
    """

    kind = "link-down"

    def _links(self) -> list[dict[str, Any]]:
        return list(self.params.get("links", []))

    def describe(self) -> str:
        shown = ", ".join(f"{link.get('namespace') or 'host'}/{link['device']}" for link in self._links())
        return f"{self.kind}({shown})"

    def prepare(self) -> None:
        self.undo["was_up"] = [link for link in self._links() if link_is_up(link.get("namespace"), link["device"])]
        missing = [link for link in self._links() if link_is_up(link.get("namespace"), link["device"]) is None]
        if missing:
            raise FaultError(f"links do not exist: {missing}")

    def inject(self) -> None:
        for link in self._links():
            _ip(link.get("namespace"), "link", "set", "dev", link["device"], "down")

    def verify(self) -> None:
        still_up = [link for link in self._links() if link_is_up(link.get("namespace"), link["device"])]
        if still_up:
            raise FaultNotInEffect(f"links still up: {still_up}")

    def revert(self) -> None:
        for link in self.undo.get("was_up", []):
            namespace = link.get("namespace")
            if namespace_exists(namespace) and link_is_up(namespace, link["device"]) is False:
                _ip(namespace, "link", "set", "dev", link["device"], "up")
