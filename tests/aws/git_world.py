"""A local bare git repository standing in for the GitOps remote (a ``file://`` URL in a tmp dir), and readers of its state.

Everything here runs the real ``git`` on local files: no network, no git server.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

CANARY_FILE = "deploy/canary-revision"
OTHER_FILE = "deploy/app.yaml"
INITIAL_REVISION = "initial"
RPO_BRANCH = "zerospof-rpo-canary"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_ENVIRONMENT = {**os.environ, "GIT_AUTHOR_NAME": "someone", "GIT_AUTHOR_EMAIL": "someone@example.invalid",
                "GIT_COMMITTER_NAME": "someone", "GIT_COMMITTER_EMAIL": "someone@example.invalid",
                "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}


def run_git(cwd: Path, *args: str) -> str:
    """Run ``git <args>`` in ``cwd`` and return its stdout (raises CalledProcessError on failure)."""
    return subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, env=_ENVIRONMENT, check=True,
                          capture_output=True, text=True).stdout


@dataclass(frozen=True)
class Commit:
    """A commit as ``git log`` shows it, with its ``Zerospof-*`` trailers."""

    commit: str
    tree: str
    parents: list[str]
    trailers: dict[str, str]


@dataclass(frozen=True)
class BareRemote:
    """The GitOps repository: a bare repository at ``path``, reached as ``url``; ``clone`` is a working copy for its users."""

    path: Path
    clone: Path

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def refs(self) -> dict[str, str]:
        """Return ``{ref: commit}`` of every branch."""
        listed = run_git(self.path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads")
        return dict(line.split() for line in listed.splitlines())

    def tip(self, branch: str = "main") -> str:
        return run_git(self.path, "rev-parse", f"refs/heads/{branch}").strip()

    def read(self, commit: str, path: str = CANARY_FILE) -> str:
        """Return the content of ``path`` at ``commit``."""
        return run_git(self.path, "show", f"{commit}:{path}")

    def parents(self, commit: str) -> list[str]:
        return run_git(self.path, "rev-list", "--parents", "-n", "1", commit).split()[1:]

    def changed_files(self, parent: str, commit: str) -> list[str]:
        return run_git(self.path, "diff-tree", "-r", "--name-only", "--no-commit-id", parent, commit).split()

    def history(self, branch: str) -> list[Commit]:
        """Return the commits reachable from ``branch``, newest first; [] when there is no such branch."""
        if f"refs/heads/{branch}" not in self.refs():
            return []
        listed = run_git(self.path, "log", "-z", "--format=%H %T %P%n%B", f"refs/heads/{branch}")
        commits = []
        for entry in filter(None, listed.split("\0")):
            head, _, body = entry.partition("\n")
            commit, tree, *parents = head.split()
            trailers = dict(line.split(": ", 1) for line in body.splitlines() if line.startswith("Zerospof-"))
            commits.append(Commit(commit, tree, parents, trailers))
        return commits

    def canary_seqs(self, branch: str, run_id: str) -> list[int]:
        """Return the seqs of ``run_id``'s RPO canary commits on ``branch``, as the trailers of its commits say."""
        return sorted(int(c.trailers["Zerospof-Seq"]) for c in self.history(branch) if c.trailers.get("Zerospof-Run") == run_id)

    def lose_commits(self, branch: str, count: int) -> Commit:
        """Move ``branch`` back ``count`` commits, as a git host failing over to a lagging replica; return the new tip."""
        kept = self.history(branch)[count]
        run_git(self.path, "update-ref", f"refs/heads/{branch}", kept.commit)
        return kept

    def push_as_someone_else(self, path: str, content: str) -> str:
        """Commit ``content`` into ``path`` on main from the working copy (another user) and push it; return the commit."""
        run_git(self.clone, "pull", "--quiet", "--ff-only", "origin", "main")
        (self.clone / path).parent.mkdir(parents=True, exist_ok=True)
        (self.clone / path).write_text(content)
        run_git(self.clone, "add", path)
        run_git(self.clone, "commit", "--quiet", "-m", f"someone else changes {path}")
        run_git(self.clone, "push", "--quiet", "origin", "HEAD:main")
        return run_git(self.clone, "rev-parse", "HEAD").strip()


def make_remote(tmp_path: Path) -> BareRemote:
    """A bare repository with branch ``main`` (the canary file holding ``initial``, and another file) and a branch ``other``."""
    bare, clone = tmp_path / "gitops.git", tmp_path / "gitops-clone"
    run_git(tmp_path, "init", "--quiet", "--bare", str(bare))
    run_git(tmp_path, "clone", "--quiet", str(bare), str(clone))
    (clone / "deploy").mkdir()
    (clone / CANARY_FILE).write_text(f"{INITIAL_REVISION}\n")
    (clone / OTHER_FILE).write_text("replicas: 3\n")
    run_git(clone, "add", ".")
    run_git(clone, "commit", "--quiet", "-m", "initial desired state")
    run_git(clone, "push", "--quiet", "origin", "HEAD:main", "HEAD:other")
    return BareRemote(bare, clone)


def canary_section(remote: BareRemote, rpo_branch: str | None = None, **served: object) -> dict[str, object]:
    """A target file's ``gitops.canary`` section for ``remote`` (``served`` as given; ``rpo_branch`` when given)."""
    section: dict[str, object] = {"repository": remote.url, "branch": "main", "file": CANARY_FILE, "served": dict(served)}
    if rpo_branch is not None:
        section["rpo_branch"] = rpo_branch
    return section
