"""``AllOf``: several faults applied as one, so that one ledger record reverts them all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zerospof.errors import FaultError
from zerospof.faults.base import Fault, fault_class_path, load_fault

__all__ = ["AllOf"]


class AllOf(Fault):
    """Inject several faults in order as one fault; revert them in reverse order.

    params: ``{"children": [{"fault": "module:Class", "params": {...}}, ...]}``;
    undo: ``{"children": [each child's undo, ...]}``, kept current whenever a child checkpoints.
    Both rebuild the children, so the ledger record alone reverts every one of them after a crash
    or SIGKILL. ``revert`` reverts every child, newest first, even when one fails, then raises
    FaultError naming the failures; each child's revert is idempotent and safe before its inject,
    so this one is too.
    """

    kind = "all-of"

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        super().__init__(params, undo)
        specs = self.params.get("children") or []
        undos = self.undo.get("children") or [{} for _ in specs]
        if not specs or len(undos) != len(specs):
            raise FaultError(f"all-of needs one undo per child fault and at least one child, got {len(specs)} "
                             f"children and {len(undos)} undo records")
        self._children = [load_fault(spec["fault"], spec["params"], child_undo) for spec, child_undo in zip(specs, undos)]
        self._adopt_children()

    @classmethod
    def of(cls, faults: Sequence[Fault]) -> AllOf:
        """Combine ``faults`` (built, not applied), keeping these very objects as the children."""
        composite = cls({"children": [{"fault": fault_class_path(f), "params": f.params} for f in faults]})
        composite._children = list(faults)
        composite._adopt_children()
        return composite

    @property
    def children(self) -> tuple[Fault, ...]:
        return tuple(self._children)

    def _adopt_children(self) -> None:
        for child in self._children:
            child.bind_checkpoint(self._child_checkpoint)
        self._sync()

    def _sync(self) -> None:
        self.undo = {"children": [child.undo for child in self._children]}

    def _child_checkpoint(self) -> None:
        self._sync()
        self.checkpoint()

    def describe(self) -> str:
        return f"{self.kind}({'; '.join(child.describe() for child in self._children)})"

    def prepare(self) -> None:
        for child in self._children:
            child.prepare()
            self._sync()

    def identity(self) -> dict[str, Any]:
        return {"children": [child.identity() for child in self._children]}

    def check_revert_allowed(self, recorded: dict[str, Any]) -> None:
        children = recorded.get("children")
        if not isinstance(children, list) or len(children) != len(self._children):
            children = [{} for _ in self._children]  # each child decides whether it needs an identity
        for child, child_identity in zip(self._children, children):
            child.check_revert_allowed(child_identity if isinstance(child_identity, dict) else {})

    def inject(self) -> None:
        for child in self._children:
            child.inject()
            self._child_checkpoint()

    def verify(self) -> None:
        for child in self._children:
            child.verify()

    def revert(self) -> None:
        failures: list[tuple[Fault, Exception]] = []
        for child in reversed(self._children):
            try:
                child.revert()
            except Exception as exc:  # noqa: BLE001 - the other children are still reverted, then it is raised
                failures.append((child, exc))
            finally:
                self._sync()
        if failures:
            message = "; ".join(f"{child.describe()}: {exc}" for child, exc in failures)
            raise FaultError(f"could not revert every part of {self.kind}: {message}") from failures[0][1]
