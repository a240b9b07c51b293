"""Targets: the built-in ``lab`` and AWS staging environments described by a target file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zerospof.errors import ConfigError
from zerospof.schema import load_yaml_mapping

__all__ = ["LabTarget", "load_target", "resolve_target"]

TARGET_KINDS = ("lab", "aws")


@dataclass(frozen=True)
class LabTarget:
    """The embedded lab on this machine."""

    name: str = "lab"
    keep_running: bool = False


def load_target(path: str | Path) -> Any:
    """Load and validate a target file (``kind: lab`` or ``kind: aws``); ConfigError lists every problem."""
    document = load_yaml_mapping(path)
    kind = document.get("kind")
    if kind not in TARGET_KINDS:
        message = "missing required key" if kind is None else f"unknown target kind; expected one of: {', '.join(TARGET_KINDS)}"
        raise ConfigError(str(path), "kind", message, kind)
    if kind == "lab":
        from zerospof.aws.schema import LabTargetFile
        from zerospof.schema import validate_model

        lab = validate_model(LabTargetFile, document, path)
        return LabTarget(name=lab.name, keep_running=lab.keep_running)
    from zerospof.aws.target import parse_aws_target
    return parse_aws_target(document, str(path))


def resolve_target(name_or_path: str) -> Any:
    """Return the built-in lab for ``"lab"``, else load the target file at ``name_or_path``."""
    if name_or_path == "lab":
        return LabTarget()
    return load_target(name_or_path)
