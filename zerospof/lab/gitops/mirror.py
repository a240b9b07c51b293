"""The mirror git host's sync loop: keep the mirror's branches in step with the primary host's, both ways.

Run as ``python -m zerospof.lab.gitops.mirror --source git://PRIMARY/platform.git
--mirror DIR/platform.git --status FILE [--interval 0.5]``. The mirror's own ``git daemon`` serves
``--mirror`` and accepts pushes: it is the backup provider users push to while the primary host is
out. Each attempt fetches the primary's branches into ``refs/zerospof-source/heads/*`` and then,
branch by branch, fast-forward only:

- on the primary only, or the mirror's is an ancestor of the primary's: the mirror takes the primary's;
- on the mirror only, or the primary's is an ancestor of the mirror's (pushed to the mirror during an
  outage): pushed back to the primary (a plain, non-forced push);
- diverged: a conflict, left alone on both hosts and reported (a person must merge).

So nothing acknowledged by either host is overwritten. Branch deletions are not mirrored; tags
are not synced. After every attempt it replaces the status file (JSON) atomically:
``{"source", "synced_commit", "synced_at", "attempted_at", "ok", "error", "syncs", "failures",
"pushed_back", "conflicts"}`` (times are epoch seconds; ``ok`` is False after a failed attempt or
while branches diverge); ``synced_*`` describe the last successful sync, so the mirror's lag is
"now - synced_at" while the primary is ahead. SIGTERM: exit 0 after the current attempt.
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
from typing import Any, NamedTuple

from zerospof.lab.gitops.repo import BRANCH, GitError, git

__all__ = ["SOURCE_REFS", "SyncResult", "main", "read_status", "sync_once"]

SOURCE_REFS = "refs/zerospof-source/heads/"
_NO_COMMIT = "0" * 40


class SyncResult(NamedTuple):
    """One sync attempt: main's commit on the mirror afterwards, what moved, what diverged.

    (A NamedTuple, not a dataclass: ``dataclasses`` imports ``inspect``, about 1 MiB in each lab daemon.)
    """

    commit: str | None
    updated: list[str]
    pushed_back: list[str]
    conflicts: list[str]


def _branches(repo: Path, prefix: str) -> dict[str, str]:
    text = git("for-each-ref", "--format=%(objectname) %(refname)", prefix, cwd=repo)
    return {ref[len(prefix):]: commit for commit, ref in (line.split(" ", 1) for line in text.splitlines() if line)}


def _is_ancestor(repo: Path, older: str, newer: str) -> bool:
    try:
        git("merge-base", "--is-ancestor", older, newer, cwd=repo)
    except GitError:
        return False
    return True


def sync_once(source: str, mirror: Path, timeout_s: float) -> SyncResult:
    """Sync every branch between ``source`` and the bare repo ``mirror`` (see module doc); GitError on failure."""
    if not (mirror / "HEAD").exists():
        mirror.mkdir(parents=True, exist_ok=True)
        git("init", "--bare", "--quiet", str(mirror))
        (mirror / "git-daemon-export-ok").touch()
    git("fetch", "--quiet", "--prune", "--no-tags", "--no-auto-gc", source, f"+refs/heads/*:{SOURCE_REFS}*",
        cwd=mirror, timeout_s=timeout_s)
    upstream, local = _branches(mirror, SOURCE_REFS), _branches(mirror, "refs/heads/")
    updates, push, conflicts = [], [], []
    for branch in sorted(set(upstream) | set(local)):
        theirs, ours = upstream.get(branch), local.get(branch)
        if theirs == ours:
            continue
        if ours is None or (theirs is not None and _is_ancestor(mirror, ours, theirs)):
            updates.append((branch, theirs, ours or _NO_COMMIT))
        elif theirs is None or _is_ancestor(mirror, theirs, ours):
            push.append((branch, ours))
        else:
            conflicts.append(branch)
    if updates:  # one transaction, each ref checked against the value we compared (a push may race us)
        git("update-ref", "--stdin", cwd=mirror,
            input_text="".join(f"update refs/heads/{b} {new} {old}\n" for b, new, old in updates))
    if push:
        git("push", "--quiet", source, *[f"{commit}:refs/heads/{b}" for b, commit in push], cwd=mirror,
            timeout_s=timeout_s)
    try:
        commit: str | None = git("rev-parse", "--verify", "--quiet", f"refs/heads/{BRANCH}", cwd=mirror).strip()
    except GitError:
        commit = None
    return SyncResult(commit, [b for b, _, _ in updates], [b for b, _ in push], conflicts)


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
                              "ok": False, "error": None, "syncs": 0, "failures": 0, "pushed_back": 0,
                              "conflicts": []}
    print(f"mirror: {args.source} <-> {args.mirror} every {args.interval}s", flush=True)
    while not stop.is_set():
        started = time.monotonic()
        status["attempted_at"] = time.time()
        try:
            result = sync_once(args.source, args.mirror, args.timeout)
        except GitError as exc:
            status.update(ok=False, error=str(exc)[:300], failures=status["failures"] + 1)
        else:
            if result.commit != status["synced_commit"]:
                print(f"mirror: main now at {result.commit}", flush=True)
            if result.pushed_back:
                print(f"mirror: pushed back to the primary: {result.pushed_back}", flush=True)
            if result.conflicts and result.conflicts != status["conflicts"]:
                print(f"mirror: diverged from the primary, left alone: {result.conflicts}", flush=True)
            status.update(synced_commit=result.commit, synced_at=time.time(), ok=not result.conflicts,
                          error=f"diverged branches: {result.conflicts}" if result.conflicts else None,
                          syncs=status["syncs"] + 1, pushed_back=status["pushed_back"] + len(result.pushed_back),
                          conflicts=result.conflicts)
        _write(args.status, status)
        stop.wait(max(0.0, args.interval - (time.monotonic() - started)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
