"""``LocalProcesses``: a test stand-in for the lab supervisor, with the same kill/start/status.

It runs real processes on this host (each in its own session, logging to ``logs/<name>.log``)
from ``<state_dir>/spec.json`` (``{name: {"argv", "env"}}``) and remembers each one's pid and
start time in ``<state_dir>/pids/<name>``, so a second instance built from the state dir alone
(as a fault rebuilt from its ledger record builds it) can kill and start them too.
``kill`` SIGKILLs the whole process group. Only for tests: the lab's processes belong to
:mod:`zerospof.lab.supervisor`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

__all__ = ["LocalProcesses"]

# Popen objects of every child this test process started, so that any instance can reap them
# (reaping only; no instance relies on this to find what to kill or start: the pid files do that).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_EXIT_CODES: dict[int, int] = {}


def _start_time(pid: int) -> str | None:
    """Return the process's start time (clock ticks since boot), None when it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def _reap() -> None:
    for pid, child in list(_CHILDREN.items()):
        code = child.poll()
        if code is not None:
            _EXIT_CODES[pid] = code
            del _CHILDREN[pid]


class LocalProcesses:
    """Test stand-in for the lab supervisor (``SupervisorClient``): start, SIGKILL, report."""

    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir)
        self.spec: dict[str, dict[str, Any]] = json.loads((self.state_dir / "spec.json").read_text())

    @classmethod
    def create(cls, state_dir: Path, spec: dict[str, dict[str, Any]]) -> LocalProcesses:
        """Write ``spec`` into ``state_dir`` and return a manager for it (nothing started)."""
        for sub in ("pids", "logs"):
            (state_dir / sub).mkdir(parents=True, exist_ok=True)
        (state_dir / "spec.json").write_text(json.dumps(spec, indent=2))
        return cls(state_dir)

    def factory_params(self) -> dict[str, str]:
        """The ``processes`` params that make a fault use this manager."""
        return {"factory": f"{__name__}:LocalProcesses", "state_dir": str(self.state_dir)}

    def _pid(self, name: str) -> int | None:
        try:
            pid_text, started = (self.state_dir / "pids" / name).read_text().split()
        except (OSError, ValueError):
            return None
        pid = int(pid_text)
        return pid if _start_time(pid) == started else None

    def start(self, names: list[str]) -> dict[str, Any]:
        unknown = [name for name in names if name not in self.spec]
        if unknown:
            raise KeyError(f"unknown components: {unknown}")
        _reap()
        started = {}
        for name in names:
            if self._pid(name) is not None:
                continue
            entry = self.spec[name]
            with open(self.state_dir / "logs" / f"{name}.log", "ab") as log:
                child = subprocess.Popen(entry["argv"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, env={**os.environ, **entry.get("env", {})},
                                         cwd=entry.get("cwd"))
            _CHILDREN[child.pid] = child
            started_at = None
            for _ in range(100):  # bounded: /proc/<pid>/stat appears at once in practice
                started_at = _start_time(child.pid)
                if started_at is not None:
                    break
                time.sleep(0.001)
            (self.state_dir / "pids" / name).write_text(f"{child.pid} {started_at}")
            started[name] = child.pid
        return {"ok": True, "started": started}

    def signal(self, names: list[str], signum: int, timeout_s: float = 5.0) -> dict[str, Any]:
        """Send ``signum`` to the named components' process groups; wait (bounded) until they are gone."""
        sent = {}
        for name in names:
            pid = self._pid(name)
            if pid is not None:
                try:
                    os.killpg(pid, signum)
                except ProcessLookupError:
                    continue
                sent[name] = pid
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(_start_time(pid) for pid in sent.values()):
            _reap()
            time.sleep(0.01)
        _reap()
        return {"ok": True, "signalled": sent}

    def kill(self, names: list[str]) -> dict[str, Any]:
        return {"ok": True, "killed": self.signal(names, signal.SIGKILL)["signalled"]}

    def exit_code(self, name: str) -> int | None:
        """Exit code of the named component's last process, if this test process started it."""
        try:
            pid = int((self.state_dir / "pids" / name).read_text().split()[0])
        except (OSError, ValueError):
            return None
        _reap()
        return _EXIT_CODES.get(pid)

    def status(self) -> dict[str, Any]:
        _reap()
        return {name: {"running": self._pid(name) is not None, "pid": self._pid(name)} for name in self.spec}

    def shutdown(self) -> None:
        """SIGKILL everything (bounded wait) and reap it."""
        self.kill(list(self.spec))
        for pid, child in list(_CHILDREN.items()):
            try:
                _EXIT_CODES[pid] = child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                continue
            _CHILDREN.pop(pid, None)
