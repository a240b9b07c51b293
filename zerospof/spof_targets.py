"""What ``zerospof spof`` sweeps: a :class:`SpofPlan` per target kind (the lab, an AWS target file).

A plan opens the target (the lab is brought up when it is not running), lists its members, says what
would be done to each (``--dry-run``), supplies the sweep's :class:`~zerospof.spof.SweepTarget`, and
runs the static audit where the target kind has one (AWS + EKS; the lab has none: ``None``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from zerospof.errors import ConfigError
from zerospof.spof import Member, SweepTarget
from zerospof.targets import LabTarget, resolve_target

__all__ = ["LabSpofPlan", "SpofPlan", "spof_plan_for"]


class SpofPlan(Protocol):
    name: str

    def open(self, dry_run: bool, keep: bool, say: Callable[[str], None]) -> None:
        """Make the target ready to be listed (and swept); refuse what must not be touched."""

    def close(self) -> None:
        """Undo what :meth:`open` started (idempotent)."""

    def members(self) -> list[Member]:
        """Every redundant member, by checklist layer."""

    def describe(self, member: Member) -> dict[str, Any]:
        """What the sweep would do to ``member``."""

    def sweep_target(self) -> SweepTarget:
        """The target's side of the sweep."""

    def audit(self) -> Any:
        """The static audit (``zerospof.aws.audit.Audit``), or None when the target kind has none."""


class LabSpofPlan:
    """The embedded lab: members from the running lab (:mod:`zerospof.lab.members`); no static audit."""

    name = "lab"

    def __init__(self) -> None:
        from zerospof.lab import Lab

        self.lab = Lab()
        self._started = False
        self._keep = False
        self._say: Callable[[str], None] = print

    def open(self, dry_run: bool, keep: bool, say: Callable[[str], None]) -> None:
        self._keep, self._say = keep, say
        if self.lab.status()["supervisor"]:
            return
        if dry_run:
            raise ConfigError("command line", "--dry-run", "lists the members of a running lab: run 'zerospof lab up'",
                              None)
        say("bringing the lab up")
        self.lab.up()
        self._started = True

    def close(self) -> None:
        if self._started and not self._keep:
            self._say("bringing the lab down")
            self.lab.down()
            self._started = False

    def members(self) -> list[Member]:
        from zerospof.lab.members import lab_members
        return lab_members(self.lab)

    def describe(self, member: Member) -> dict[str, Any]:
        from zerospof.lab.members import describe
        return describe(member)

    def sweep_target(self) -> SweepTarget:
        from zerospof.lab.members import lab_sweep_target
        return lab_sweep_target(self.lab)

    def audit(self) -> None:
        return None


def spof_plan_for(name_or_path: str) -> SpofPlan:
    """The plan for ``"lab"`` or a target file (validated first: ConfigError naming the file and key)."""
    target = resolve_target(name_or_path)
    if isinstance(target, LabTarget):
        return LabSpofPlan()
    from zerospof.aws.sweep import AwsSpofPlan
    return AwsSpofPlan(target)
