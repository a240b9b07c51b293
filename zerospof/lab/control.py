"""Talk to the lab supervisor over its unix socket (one JSON request, one JSON reply)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from zerospof.errors import LabError
from zerospof.lab.supervisor import PID_NAME, SOCKET_NAME

__all__ = ["SupervisorClient"]


class SupervisorClient:
    """Client for :mod:`zerospof.lab.supervisor`; every call raises LabError when it is unreachable."""

    def __init__(self, state_dir: str | Path, timeout_s: float = 10.0) -> None:
        self.state_dir = Path(state_dir)
        self.timeout_s = timeout_s

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send ``{"op": op, **fields}`` and return the reply; raise LabError on failure."""
        path = self.state_dir / SOCKET_NAME
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(self.timeout_s)
                connection.connect(str(path))
                connection.sendall(json.dumps({"op": op, **fields}).encode() + b"\n")
                data = b""
                while not data.endswith(b"\n"):
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except OSError as exc:
            raise LabError(f"lab supervisor unreachable at {path}: {exc}") from exc
        try:
            reply = json.loads(data)
        except ValueError as exc:
            raise LabError(f"lab supervisor sent an unreadable reply: {data[:200]!r}") from exc
        if not reply.get("ok"):
            raise LabError(f"lab supervisor refused {op}: {reply.get('error')}")
        return reply

    def alive(self) -> bool:
        """Return True when the supervisor answers a ping."""
        try:
            self.request("ping")
            return True
        except LabError:
            return False

    def pid(self) -> int | None:
        """The supervisor's pid from its pid file, if the file exists."""
        try:
            return int((self.state_dir / PID_NAME).read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self, names: list[str]) -> dict[str, Any]:
        return self.request("start", names=names)

    def kill(self, names: list[str]) -> dict[str, Any]:
        return self.request("kill", names=names)

    def terminate(self, names: list[str], timeout_s: float = 5.0) -> dict[str, Any]:
        """SIGTERM the named components; SIGKILL those still running after ``timeout_s``."""
        return self.request("terminate", names=names, timeout_s=timeout_s)

    def kill_namespaces(self, namespaces: list[str]) -> dict[str, Any]:
        return self.request("kill_namespaces", namespaces=namespaces)

    def status(self) -> dict[str, Any]:
        return self.request("status")["components"]

    def shutdown(self) -> dict[str, Any]:
        return self.request("shutdown")


