"""What process faults need from whoever owns the lab's processes, and how a fault finds it.

The lab supervisor (:class:`zerospof.lab.control.SupervisorClient`) already has this shape:
``kill(names)`` (SIGKILL), ``start(names)`` (start those not running) and ``status()``
(``{name: {"running": bool, ...}}``). A fault's params name the owner as JSON, so a fault rebuilt
from its ledger record finds the same owner:
``{"factory": "module:Class", "state_dir": "..."}``; the class is built as ``Class(state_dir)``.
Default: the lab supervisor in the lab's default state dir.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from zerospof.errors import FaultError

__all__ = ["DEFAULT_FACTORY", "Processes", "default_processes", "processes_from", "running"]

DEFAULT_FACTORY = "zerospof.lab.control:SupervisorClient"


class Processes(Protocol):
    """Start, SIGKILL and report named components."""

    def kill(self, names: list[str]) -> dict[str, Any]: ...

    def start(self, names: list[str]) -> dict[str, Any]: ...

    def status(self) -> dict[str, Any]: ...


def default_processes() -> dict[str, str]:
    """Return the params naming the lab supervisor of the default lab state dir."""
    from zerospof.lab.lab import default_state_dir

    return {"factory": DEFAULT_FACTORY, "state_dir": str(default_state_dir())}


def processes_from(spec: dict[str, Any]) -> Processes:
    """Build the process owner named by ``spec`` (see module doc); FaultError when it cannot."""
    factory = str(spec.get("factory") or DEFAULT_FACTORY)
    module_name, _, qualname = factory.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj(spec["state_dir"])
    except (ImportError, AttributeError, KeyError, TypeError) as exc:
        raise FaultError(f"cannot build the process owner {spec!r}: {exc}") from exc


def running(processes: Processes, names: list[str]) -> list[str]:
    """Return which of ``names`` are running now."""
    states = processes.status()
    return [name for name in names if states.get(name, {}).get("running")]
