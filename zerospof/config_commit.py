"""Which commit of its git repository a run's configuration file (target file, objectives file) came from.

Asked of git in the file's own directory when the run starts. A file outside any repository, not tracked by
it, or read where git is missing has no commit: ``None`` with the reason, never a made-up value.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["ConfigCommit", "config_commit", "config_commit_text", "configuration_text", "built_in"]

GIT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ConfigCommit:
    """``commit``: the HEAD commit of the repository holding ``path`` (None: ``reason`` says why);
    ``dirty``: the file differs from that commit (uncommitted changes), None when there is no commit."""

    path: str
    commit: str | None
    dirty: bool | None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def built_in(name: str) -> ConfigCommit:
    """The record of a built-in configuration (the ``lab`` target): no file, so no commit."""
    return ConfigCommit(name, None, None, f"{name!r} is built into zerospof: no file, no commit of its own")


def _git(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(directory), *arguments], capture_output=True, text=True,
                          timeout=GIT_TIMEOUT_S, check=False)


def config_commit(path: str | Path) -> ConfigCommit:
    """The commit of the git repository ``path`` is in, and whether the file differs from it."""
    file = Path(path).resolve()
    shown = str(path)
    if not file.is_file():
        return ConfigCommit(shown, None, None, f"no such file: {file}")
    try:
        head = _git(file.parent, "rev-parse", "--verify", "HEAD")
        if head.returncode != 0:
            first = (head.stderr.strip().splitlines() or ["git rev-parse failed"])[0]
            return ConfigCommit(shown, None, None, f"not in a git repository with a commit ({first})")
        if _git(file.parent, "ls-files", "--error-unmatch", "--", file.name).returncode != 0:
            return ConfigCommit(shown, None, None, "not tracked by the git repository it is in")
        status = _git(file.parent, "status", "--porcelain", "--", file.name)
    except FileNotFoundError:
        return ConfigCommit(shown, None, None, "git is not installed")
    except subprocess.TimeoutExpired:
        return ConfigCommit(shown, None, None, f"git did not answer within {GIT_TIMEOUT_S:g}s")
    if status.returncode != 0:
        return ConfigCommit(shown, None, None, f"git status failed: {status.stderr.strip()[:200]}")
    return ConfigCommit(shown, head.stdout.strip(), bool(status.stdout.strip()))


def config_commit_text(record: dict[str, Any] | None) -> str:
    """``3f2a9c1d0b7e`` / ``3f2a9c1d0b7e (dirty)`` / ``unknown (<reason>)`` / ``not recorded`` (older runs)."""
    if not record:
        return "not recorded"
    if record.get("commit") is None:
        return f"unknown ({record.get('reason') or 'no reason recorded'})"
    return record["commit"][:12] + (" (dirty)" if record.get("dirty") else "")


def configuration_text(config: dict[str, dict[str, Any]] | None) -> str:
    """A run's configuration commits, by role: ``target 3f2a9c1d0b7e (dirty); objectives 3f2a9c1d0b7e``."""
    return "; ".join(f"{role} {config_commit_text(record)}" for role, record in (config or {}).items()) or "not recorded"
