"""The mirror git host's sync loop: fetch every ref from the primary host into the mirror's repo.

Run as ``python -m zerospof.lab.gitops.mirror --source git://PRIMARY/platform.git
--mirror DIR/platform.git --status FILE [--interval 0.5]``. The mirror's own ``git daemon`` serves
``--mirror``. After every attempt it replaces the status file (JSON) atomically:
``{"source", "synced_commit", "synced_at", "attempted_at", "ok", "error", "syncs", "failures"}``
(times are epoch seconds); ``synced_*`` describe the last successful sync, so the mirror's
lag is "now - synced_at" while the primary is ahead. SIGTERM: exit 0 after the current attempt.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from zerospof.lab.gitops.repo import BRANCH, GitError, git

__all__ = ["main", "read_status", "sync_once"]


def sync_once(source: str, mirror: Path, timeout_s: float) -> str:
    """Mirror-fetch every branch and tag of ``source`` into the bare repo ``mirror``; return main's commit."""
    if not (mirror / "HEAD").exists():
        mirror.mkdir(parents=True, exist_ok=True)
        git("init", "--bare", "--quiet", str(mirror))
        (mirror / "git-daemon-export-ok").touch()
    git("fetch", "--quiet", "--prune", "--no-auto-gc", source, "+refs/heads/*:refs/heads/*",
        "+refs/tags/*:refs/tags/*", cwd=mirror, timeout_s=timeout_s)
    return git("rev-parse", BRANCH, cwd=mirror).strip()


def _write(path: Path, status: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status))
    os.replace(tmp, path)


def read_status(path: str | Path) -> dict[str, Any] | None:
    """Return the mirror's status file, or None when it is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zerospof.lab.gitops.mirror")
    parser.add_argument("--source", required=True, help="the primary host's repository URL")
    parser.add_argument("--mirror", required=True, type=Path, help="the mirror's bare repository")
    parser.add_argument("--status", required=True, type=Path, help="status file (JSON) to keep up to date")
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per fetch")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    status: dict[str, Any] = {"source": args.source, "synced_commit": None, "synced_at": None, "attempted_at": None,
                              "ok": False, "error": None, "syncs": 0, "failures": 0}
    print(f"mirror: {args.source} -> {args.mirror} every {args.interval}s", flush=True)
    while not stop.is_set():
        started = time.monotonic()
        status["attempted_at"] = time.time()
        try:
            commit = sync_once(args.source, args.mirror, args.timeout)
            if commit != status["synced_commit"]:
                print(f"mirror: now at {commit}", flush=True)
            status.update(synced_commit=commit, synced_at=time.time(), ok=True, error=None,
                          syncs=status["syncs"] + 1)
        except GitError as exc:
            status.update(ok=False, error=str(exc)[:300], failures=status["failures"] + 1)
        _write(args.status, status)
        stop.wait(max(0.0, args.interval - (time.monotonic() - started)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
