"""Git plumbing for the lab's GitOps: bounded ``git`` calls, repository setup, the desired state.

The desired state is one file, ``app.yaml``, on branch ``main``: ``revision: <string>``.
Every ``git`` call has a timeout (a git:// connect to a blackholed host otherwise hangs for minutes).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import yaml

from zerospof.errors import LabError

__all__ = ["BRANCH", "DESIRED_FILE", "GitError", "daemon_argv", "git", "init_repository", "ls_remote", "parse_desired",
           "render_desired"]

BRANCH = "main"
DESIRED_FILE = "app.yaml"
_IDENTITY = ["-c", "user.name=zerospof", "-c", "user.email=zerospof@lab.invalid", "-c", "init.defaultBranch=main",
             "-c", "safe.directory=*", "-c", "protocol.version=2"]


class GitError(LabError):
    """A git command failed or timed out."""


def git(*args: str, cwd: str | Path | None = None, timeout_s: float = 10.0, input_text: str | None = None) -> str:
    """Run ``git <args>`` and return its stdout; GitError on failure or timeout."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": os.environ.get("TMPDIR") or "/tmp"}
    try:
        result = subprocess.run(["git", *_IDENTITY, *args], cwd=cwd, capture_output=True, text=True,
                                timeout=timeout_s, env=env, input=input_text)
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {' '.join(args)}: timed out after {timeout_s}s") from exc
    if result.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {result.stderr.strip()[:300]}")
    return result.stdout


def _read_exactly(connection: socket.socket, count: int, deadline: float) -> bytes:
    data = b""
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        connection.settimeout(left)
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise ConnectionError("connection closed mid-answer")
        data += chunk
    return data


def ls_remote(url: str, timeout_s: float = 1.0) -> dict[str, str]:
    """Return ``{ref: commit}`` as the git host at ``url`` advertises them; GitError when it does not answer.

    ``git://`` URLs are read in-process (the git protocol's ref advertisement, then a flush: no
    ``git`` process on this side), which keeps frequent health checks cheap; other URLs run
    ``git ls-remote``. Bounded by ``timeout_s`` in total.
    """
    if not url.startswith("git://"):
        text = git("ls-remote", url, timeout_s=timeout_s)
        return {ref: commit for commit, ref in (line.split("\t", 1) for line in text.splitlines() if "\t" in line)}
    hostport, _, path = url[len("git://"):].partition("/")
    host, _, port = hostport.partition(":")
    request = f"git-upload-pack /{path}\0host={hostport}\0".encode()
    deadline = time.monotonic() + timeout_s
    refs: dict[str, str] = {}
    try:
        with socket.create_connection((host, int(port or 9418)), timeout=timeout_s) as connection:
            connection.sendall(f"{len(request) + 4:04x}".encode() + request)
            for _ in range(1_000_000):
                length = int(_read_exactly(connection, 4, deadline), 16)
                if length == 0:  # flush: the advertisement is complete
                    break
                line = _read_exactly(connection, length - 4, deadline).split(b"\0", 1)[0].decode().strip()
                if line.startswith("ERR "):
                    raise GitError(f"{url}: {line}")
                commit, _, ref = line.partition(" ")
                if ref and ref != "capabilities^{}":
                    refs[ref] = commit
            connection.sendall(b"0000")  # we want nothing
    except (OSError, ValueError) as exc:
        raise GitError(f"ls-remote {url}: {type(exc).__name__}: {exc}") from exc
    return refs


def render_desired(revision: str) -> str:
    """Return the text of ``app.yaml`` asking for ``revision``."""
    return yaml.safe_dump({"revision": revision}, sort_keys=False)


def parse_desired(text: str) -> str:
    """Return the revision ``app.yaml`` asks for; GitError when the file is malformed."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GitError(f"{DESIRED_FILE} is not YAML: {exc}") from exc
    revision = data.get("revision") if isinstance(data, dict) else None
    if not isinstance(revision, str | int) or not str(revision).strip():
        raise GitError(f"{DESIRED_FILE} has no revision: {text[:200]!r}")
    return str(revision)


def init_repository(bare: Path, revision: str = "initial") -> str:
    """Create the bare repository ``bare`` with one commit of ``app.yaml``; return the commit id.

    Idempotent: an existing repository is left alone and its ``main`` commit returned.
    """
    if (bare / "HEAD").exists():
        return git("rev-parse", BRANCH, cwd=bare).strip()
    bare.mkdir(parents=True, exist_ok=True)
    git("init", "--bare", "--quiet", str(bare))
    (bare / "git-daemon-export-ok").touch()
    blob = git("hash-object", "-w", "--stdin", cwd=bare, input_text=render_desired(revision)).strip()
    tree = git("mktree", cwd=bare, input_text=f"100644 blob {blob}\t{DESIRED_FILE}\n").strip()
    commit = git("commit-tree", tree, "-m", f"revision {revision}", cwd=bare).strip()
    git("update-ref", f"refs/heads/{BRANCH}", commit, cwd=bare)
    return commit


def _daemon_command() -> list[str]:
    """``git-daemon`` itself when it can be found: ``git daemon`` runs it as a child and waits, so a
    SIGKILL of ``git`` would leave the daemon running (and one more process to pay for)."""
    try:
        binary = Path(git("--exec-path", timeout_s=5.0).strip()) / "git-daemon"
    except GitError:
        return ["git", "daemon"]
    return [str(binary)] if os.access(binary, os.X_OK) else ["git", "daemon"]


def daemon_argv(base_path: Path, address: str, port: int, *, receive_pack: bool) -> list[str]:
    """Return the argv of the git daemon serving every repository under ``base_path``.

    ``receive_pack`` lets clients push (a host users push to).
    """
    argv = [*_daemon_command(), "--reuseaddr", "--export-all", f"--base-path={base_path}",
            f"--listen={address}", f"--port={port}", "--informative-errors", "--max-connections=32"]
    if receive_pack:
        argv.append("--enable=receive-pack")
    return [*argv, str(base_path)]
