"""A GitOps reconciler: primary, secondary or backup, one leader at a time through an etcd lease.

Run as ``python -m zerospof.lab.gitops.reconciler --name NAME --role primary|secondary|backup
--git-url git://HOST:PORT/platform.git --etcd URL[,URL...] --apps URL[,URL...] --work-dir DIR``.

Every ``--interval`` seconds each reconciler fetches ``main`` from its git host (primary and
secondary: the primary host; backup: the mirror) and reads ``app.yaml``. Its source is *healthy*
until ``--source-failures`` fetches in a row failed. Only a reconciler with a healthy source
campaigns for ``/zerospof/leader/gitops``, after the key has been vacant for its role's delay
(primary 0 s, secondary 0.25 s, backup 0.5 s: the primary host's readers are preferred); a leader
whose source turns unhealthy resigns, so a reconciler that can read git takes over.

The leader applies the desired revision to every app replica through the app's revision contract
(``GET /revision`` -> ``{"revision", ...}``; ``PUT /revision`` with ``{"revision", "commit",
"applied_by"}``), re-applying whenever a replica drifts (e.g. restarted). Once every replica serves
it, it records ``/zerospof/gitops/applied`` = ``{"revision", "commit", "source", "by", "at"}``
conditional on still holding the leader key. A leader never applies a commit that is older than
(an ancestor of) or unknown next to the recorded one: a lagging mirror must not roll back.
SIGTERM: resign and exit 0.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any, NamedTuple

from zerospof.lab.controlplane.election import LeaseElection
from zerospof.lab.controlplane.etcd_http import EtcdClient, EtcdUnavailable
from zerospof.lab.gitops.repo import BRANCH, DESIRED_FILE, GitError, git, parse_desired
from zerospof.lab.http_lite import request_json

__all__ = ["APPLIED_KEY", "CAMPAIGN_DELAY_S", "LEADER_KEY", "Desired", "app_revision", "fetch_desired", "main",
           "set_app_revision"]

LEADER_KEY = "/zerospof/leader/gitops"
LEASE_TTL_S = 2  # a dead leader's key disappears at most this long after its death
APPLIED_KEY = "/zerospof/gitops/applied"
CAMPAIGN_DELAY_S = {"primary": 0.0, "secondary": 0.25, "backup": 0.5}


class Desired(NamedTuple):
    """The desired state read from git.

    (A NamedTuple, not a dataclass: ``dataclasses`` imports ``inspect``, about 1 MiB in each lab daemon.)
    """

    revision: str
    commit: str


def fetch_desired(url: str, cache: Path, timeout_s: float) -> Desired:
    """Fetch ``main`` from ``url`` into the bare repo ``cache`` and return its desired state."""
    if not (cache / "HEAD").exists():
        git("init", "--bare", "--quiet", str(cache))
    git("fetch", "--quiet", "--no-tags", "--no-auto-gc", url, f"+refs/heads/{BRANCH}:refs/remotes/source/{BRANCH}",
        cwd=cache, timeout_s=timeout_s)
    commit = git("rev-parse", f"refs/remotes/source/{BRANCH}", cwd=cache).strip()
    return Desired(parse_desired(git("show", f"{commit}:{DESIRED_FILE}", cwd=cache)), commit)


def _request(method: str, url: str, body: dict[str, Any] | None, timeout_s: float) -> dict[str, Any]:
    status, reply = request_json(method, url, body, timeout_s)
    if status != 200:
        raise OSError(f"{method} {url}: HTTP {status}")
    return reply if isinstance(reply, dict) else {}


def app_revision(app_url: str, timeout_s: float = 0.5) -> str | None:
    """Return the revision the app replica at ``app_url`` serves, None when it does not answer."""
    try:
        revision = _request("GET", f"{app_url}/revision", None, timeout_s).get("revision")
    except (OSError, ValueError):
        return None
    return None if revision is None else str(revision)


def set_app_revision(app_url: str, desired: Desired, applied_by: str, timeout_s: float = 0.5) -> bool:
    """Ask the app replica to serve ``desired``; return whether it confirmed."""
    body = {"revision": desired.revision, "commit": desired.commit, "applied_by": applied_by}
    try:
        return _request("PUT", f"{app_url}/revision", body, timeout_s).get("revision") == desired.revision
    except (OSError, ValueError):
        return False


def _each(function: Callable[[str], Any], apps: list[str]) -> list[Any]:
    """``[function(app) for app in apps]``, all at once, one thread each (each call bounded by its own timeout).

    (Threads, not ``concurrent.futures``: its import costs each reconciler most of a MiB.)
    """
    results: list[Any] = [None] * len(apps)

    def run(index: int) -> None:
        results[index] = function(apps[index])
    threads = [threading.Thread(target=run, args=(index,), daemon=True) for index in range(len(apps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class Reconciler:
    def __init__(self, args: argparse.Namespace) -> None:
        self.name = args.name
        self.role = args.role
        self.git_url = args.git_url
        self.apps = [url.rstrip("/") for url in args.apps.split(",") if url]
        self.cache = Path(args.work_dir) / f"{args.name}.git"
        self.git_timeout_s = args.git_timeout
        self.max_failures = args.source_failures
        self.etcd = EtcdClient(args.etcd.split(","), timeout_s=0.5)
        delay = CAMPAIGN_DELAY_S[args.role] if args.campaign_delay is None else args.campaign_delay
        self.election = LeaseElection(self.etcd, LEADER_KEY, self.name, ttl_s=args.ttl,
                                      keepalive_s=min(0.5, args.ttl / 4), campaign_delay_s=delay)
        self.desired: Desired | None = None
        self.failures = 0
        self.recorded: Desired | None = None

    def log(self, message: str) -> None:
        print(f"reconciler {self.name} ({self.role}): {message}", flush=True)

    def step(self) -> None:
        try:
            desired = fetch_desired(self.git_url, self.cache, self.git_timeout_s)
            if desired != self.desired:
                self.log(f"desired revision {desired.revision} at {desired.commit[:12]}")
            self.desired, self.failures = desired, 0
        except GitError as exc:
            self.failures += 1
            if self.failures == self.max_failures:
                self.log(f"source unhealthy: {exc}")
        healthy = self.failures < self.max_failures and self.desired is not None
        was_leader = self.election.is_leader()
        if not healthy and was_leader:
            self.log("resigning: cannot read git")
            self.election.resign()
        try:
            leading = self.election.campaign(eligible=healthy)
        except EtcdUnavailable:
            leading = self.election.is_leader()
        if leading != was_leader:
            self.log("leader" if leading else "standby")
        if leading and healthy and self.desired is not None:
            self.apply(self.desired)

    def behind_last_applied(self, desired: Desired) -> bool:
        """Return True when ``desired`` would roll back what a leader applied last (a lagging mirror)."""
        try:
            found = self.etcd.get(APPLIED_KEY)
            last = json.loads(found.value).get("commit") if found is not None else None
        except (EtcdUnavailable, ValueError, AttributeError):
            return True  # cannot tell: do not risk a rollback
        if not last or last == desired.commit:
            return False
        try:
            git("cat-file", "-e", f"{last}^{{commit}}", cwd=self.cache)
        except GitError:
            return True  # our source has not seen the last applied commit yet
        try:
            git("merge-base", "--is-ancestor", desired.commit, last, cwd=self.cache)
            return True
        except GitError:
            return False

    def apply(self, desired: Desired) -> None:
        served = _each(app_revision, self.apps)
        drifted = [app for app, revision in zip(self.apps, served) if revision != desired.revision]
        if drifted and self.behind_last_applied(desired):
            self.log(f"not applying {desired.commit[:12]}: older than the last applied commit")
            return
        if drifted and self.election.is_leader():
            confirmed = _each(lambda app: set_app_revision(app, desired, self.name), drifted)
            self.log(f"applied {desired.revision} to {sum(confirmed)}/{len(drifted)} drifted replicas")
            drifted = [app for app, ok in zip(drifted, confirmed) if not ok]
        if drifted or desired == self.recorded:
            return
        record = {"revision": desired.revision, "commit": desired.commit, "source": self.git_url,
                  "by": self.name, "role": self.role, "at": time.time()}
        fence = self.election.fence
        if fence:
            compare = EtcdClient.compare(LEADER_KEY, "CREATE", fence)
            try:
                if self.etcd.put_if(APPLIED_KEY, json.dumps(record), [compare]) is not None:
                    self.recorded = desired
            except EtcdUnavailable:
                pass

    def close(self) -> None:
        self.election.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zerospof.lab.gitops.reconciler")
    parser.add_argument("--name", required=True)
    parser.add_argument("--role", required=True, choices=sorted(CAMPAIGN_DELAY_S))
    parser.add_argument("--git-url", required=True)
    parser.add_argument("--etcd", required=True, help="comma-separated etcd client URLs")
    parser.add_argument("--apps", required=True, help="comma-separated app replica base URLs")
    parser.add_argument("--work-dir", required=True, type=Path)
    parser.add_argument("--ttl", type=int, default=LEASE_TTL_S, help="lease TTL, seconds")
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--git-timeout", type=float, default=1.0, help="seconds per fetch")
    parser.add_argument("--source-failures", type=int, default=2, help="failed fetches in a row = unhealthy")
    parser.add_argument("--campaign-delay", type=float, default=None, help="override the role's delay, seconds")
    args = parser.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    reconciler = Reconciler(args)
    reconciler.log(f"started: git {args.git_url}, apps {len(reconciler.apps)}")
    while not stop.is_set():
        started = time.monotonic()
        reconciler.step()
        stop.wait(max(0.0, args.interval - (time.monotonic() - started)))
    reconciler.close()
    reconciler.log("stopped, lease released")
    return 0


if __name__ == "__main__":
    sys.exit(main())
