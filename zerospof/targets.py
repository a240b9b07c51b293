"""Targets: the built-in ``lab`` and AWS staging environments described by a target file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zerospof.schema import Section, load_yaml_mapping

__all__ = ["LabTarget", "load_target", "resolve_target"]

TARGET_KINDS = ("lab", "aws")


@dataclass(frozen=True)
class LabTarget:
    """The embedded lab on this machine."""

    name: str = "lab"
    keep_running: bool = False


def load_target(path: str | Path) -> Any:
    """Load and validate a target file (``kind: lab`` or ``kind: aws``)."""
    top = Section(path, load_yaml_mapping(path))
    top.require(("kind",))
    kind = top.data["kind"]
    if kind not in TARGET_KINDS:
        raise top.error("kind", f"unknown target kind; expected one of: {', '.join(TARGET_KINDS)}", kind)
    if kind == "lab":
        top.only(("kind", "name", "keep-running"))
        return LabTarget(name=str(top.data.get("name", "lab")), keep_running=bool(top.data.get("keep-running", False)))
    from zerospof.aws.target import load_aws_target
    return load_aws_target(path)


def resolve_target(name_or_path: str) -> Any:
    """Return the built-in lab for ``"lab"``, else load the target file at ``name_or_path``."""
    if name_or_path == "lab":
        return LabTarget()
    return load_target(name_or_path)
