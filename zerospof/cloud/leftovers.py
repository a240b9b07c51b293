"""``Leftover``: one thing zerospof left in a target (found there, not in a ledger) and what became of it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Leftover"]


@dataclass(frozen=True)
class Leftover:
    """``kind`` and ``resource`` name it, ``action`` says what restoring it means; ``error`` why it was not."""

    kind: str
    resource: str
    action: str
    restored: bool
    error: str | None = None

    def render(self) -> str:
        outcome = "restored" if self.restored else f"NOT restored: {self.error}"
        return f"{self.kind} {self.resource}: {self.action}: {outcome}"
