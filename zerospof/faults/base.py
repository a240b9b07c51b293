"""The fault contract: ``prepare`` -> ``inject`` -> ``verify`` ... ``revert``."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from zerospof.errors import FaultError

__all__ = ["Fault", "fault_class_path", "load_fault"]


class Fault(ABC):
    """A fault against a target.

    Everything ``revert`` needs lives in ``params`` (what the caller asked for) and ``undo``
    (the original state, captured by ``prepare`` before anything changes, and extended by
    ``inject`` as it goes). Both are JSON-serialisable and persisted in the ledger record,
    so a fault rebuilt from the record alone (after a crash or SIGKILL) can be reverted.
    """

    kind: ClassVar[str] = "fault"

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        self.params: dict[str, Any] = dict(params or {})
        self.undo: dict[str, Any] = dict(undo or {})
        self._checkpoint: Callable[[], None] = lambda: None

    def describe(self) -> str:
        """Say in one line what this fault does to what."""
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.kind}({shown})"

    def bind_checkpoint(self, checkpoint: Callable[[], None]) -> None:
        """Have :meth:`checkpoint` persist ``undo`` (the ledger calls this)."""
        self._checkpoint = checkpoint

    def checkpoint(self) -> None:
        """Persist ``undo`` now; call it from ``inject`` before each change that needs undoing."""
        self._checkpoint()

    def prepare(self) -> None:
        """Capture into ``undo`` the original state revert will restore. Change nothing."""

    def identity(self) -> dict[str, Any]:
        """Say whose resources this fault changes (e.g. ``{"aws_account": ...}``); the ledger records it after
        ``prepare``. Nothing by default."""
        return {}

    def check_revert_allowed(self, recorded: dict[str, Any]) -> None:
        """Raise :class:`~zerospof.errors.SafetyRefusal` unless reverting from a record whose ``identity`` was
        ``recorded`` acts on the same resources' owner as the caller now. Allowed by default."""

    @abstractmethod
    def inject(self) -> None:
        """Apply the fault."""

    @abstractmethod
    def verify(self) -> None:
        """Raise :class:`~zerospof.errors.FaultNotInEffect` unless the fault is really in effect."""

    @abstractmethod
    def revert(self) -> None:
        """Undo the fault from ``params`` and ``undo`` alone. Idempotent; safe before ``inject``."""


def fault_class_path(fault: Fault | type[Fault]) -> str:
    """Return ``module:QualName`` of the fault's class, as stored in ledger records."""
    cls = fault if isinstance(fault, type) else type(fault)
    return f"{cls.__module__}:{cls.__qualname__}"


def load_fault(class_path: str, params: dict[str, Any], undo: dict[str, Any]) -> Fault:
    """Rebuild a fault from a ledger record's class path, params and undo state."""
    module_name, _, qualname = class_path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise FaultError(f"cannot load fault class {class_path!r}: {exc}") from exc
    if not (isinstance(obj, type) and issubclass(obj, Fault)):
        raise FaultError(f"{class_path!r} is not a Fault class")
    return obj(params, undo)
