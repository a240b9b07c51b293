"""A GitOps reconciler: primary, secondary or backup, one leader at a time through a Kubernetes Lease.

Run as ``python -m zerospof.lab.gitops.reconciler --name NAME --role primary|secondary|backup
--git-url git://HOST:PORT/platform.git --kubeconfig FILE --kube-servers URL[,URL...] --work-dir DIR``.

Every ``--interval`` seconds each reconciler fetches ``main`` from its git host (primary and
secondary: the primary host; backup: the mirror) and reads ``app.yaml``. Its source is *healthy*
until ``--source-failures`` fetches in a row failed. Only a reconciler with a healthy source
campaigns for the ``coordination.k8s.io`` Lease ``zerospof-lab/gitops-controller`` (holder identity: its
name; :class:`zerospof.lab.kube.election.KubeLeaseElection`), after it has been vacant or expired for its role's
delay (primary 0 s, secondary 0.25 s, backup 0.5 s: the primary host's readers are preferred); a leader whose
source turns unhealthy resigns, so a reconciler that can read git takes over.

The leader applies the desired revision as the ConfigMap ``zerospof-lab/app-revision`` (data ``revision``,
``commit``, ``source``, ``applied_by``, ``role``, ``applied_at``), which every app replica reads and serves
(:class:`zerospof.lab.app.RevisionSource`), and re-applies it whenever the object drifts from git (e.g. edited by
hand): an Argo CD Application with self-heal, or a Flux Kustomization, does the same to its objects. A leader
never applies a commit that is older than (an ancestor of) or unknown next to the one the ConfigMap carries: a
lagging mirror must not roll back. Updates are conditional on the ConfigMap's ``resourceVersion`` and made only
while :meth:`KubeLeaseElection.is_leader` (no cross-object transaction exists in Kubernetes; a deposed leader can
write at most once more within the Lease's margin, as with Argo CD or Flux). SIGTERM: resign and exit 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

from zerospof.lab.gitops.repo import BRANCH, DESIRED_FILE, GitError, git, parse_desired
from zerospof.lab.kube.api import KubeApi, KubeUnavailable
from zerospof.lab.kube.election import KubeLeaseElection

__all__ = ["CAMPAIGN_DELAY_S", "CONFIGMAP", "LEASE", "LEASE_DURATION_S", "NAMESPACE", "Desired", "fetch_desired",
           "main"]

NAMESPACE = "zerospof-lab"
LEASE = "gitops-controller"
CONFIGMAP = "app-revision"
LEASE_DURATION_S = 2  # a dead leader's Lease expires at most this long after its last renewal
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


class Reconciler:
    def __init__(self, args: argparse.Namespace, api: KubeApi) -> None:
        self.name = args.name
        self.role = args.role
        self.git_url = args.git_url
        self.cache = Path(args.work_dir) / f"{args.name}.git"
        self.git_timeout_s = args.git_timeout
        self.max_failures = args.source_failures
        self.api = api
        self.namespace = args.namespace
        self.configmap_path = f"/api/v1/namespaces/{args.namespace}/configmaps/{args.configmap}"
        self.configmap = args.configmap
        delay = CAMPAIGN_DELAY_S[args.role] if args.campaign_delay is None else args.campaign_delay
        self.election = KubeLeaseElection(api, args.namespace, args.lease, self.name, duration_s=args.ttl,
                                          renew_s=min(0.5, args.ttl / 4), campaign_delay_s=delay)
        self.desired: Desired | None = None
        self.failures = 0
        self.api_down = False

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
            if leading != was_leader:
                self.log("leader" if leading else "standby")
            if leading and healthy and self.desired is not None:
                self.apply(self.desired)
            self.api_down = False
        except KubeUnavailable as exc:
            if not self.api_down:  # once per outage, not every round
                self.log(f"API unavailable: {str(exc)[:200]}")
            self.api_down = True

    def behind_applied(self, desired: Desired, applied_commit: str | None) -> bool:
        """True when ``desired`` would roll back ``applied_commit`` (what the ConfigMap carries): a lagging mirror."""
        if not applied_commit or applied_commit == desired.commit:
            return False
        try:
            git("cat-file", "-e", f"{applied_commit}^{{commit}}", cwd=self.cache)
        except GitError:
            return True  # our source has not seen the applied commit yet
        try:
            git("merge-base", "--is-ancestor", desired.commit, applied_commit, cwd=self.cache)
            return True
        except GitError:
            return False

    def apply(self, desired: Desired) -> None:
        """Make the ConfigMap say ``desired`` (create it, or update it conditionally) while we lead."""
        status, found = self.api.call("GET", self.configmap_path, timeout_s=1.0)
        if status not in (200, 404):
            return
        data = ((found or {}).get("data") or {}) if status == 200 else {}
        if (data.get("revision"), data.get("commit")) == (desired.revision, desired.commit):
            return
        if self.behind_applied(desired, data.get("commit")):
            self.log(f"not applying {desired.commit[:12]}: older than the applied {str(data.get('commit'))[:12]}")
            return
        if not self.election.is_leader():
            return
        data = {"revision": desired.revision, "commit": desired.commit, "source": self.git_url,
                "applied_by": self.name, "role": self.role, "applied_at": f"{time.time():.3f}"}
        if status == 404:
            status, _ = self.api.call("POST", f"/api/v1/namespaces/{self.namespace}/configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": self.configmap, "namespace": self.namespace}, "data": data}, timeout_s=1.0)
        else:
            status, _ = self.api.call("PUT", self.configmap_path, {**found, "data": data}, timeout_s=1.0)
        if status in (200, 201):
            self.log(f"applied {desired.revision} at {desired.commit[:12]}")

    def close(self) -> None:
        self.election.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zerospof.lab.gitops.reconciler")
    parser.add_argument("--name", required=True)
    parser.add_argument("--role", required=True, choices=sorted(CAMPAIGN_DELAY_S))
    parser.add_argument("--git-url", required=True)
    parser.add_argument("--kubeconfig", required=True, type=Path)
    parser.add_argument("--kube-servers", default="", help="comma-separated API URLs, tried in turn")
    parser.add_argument("--namespace", default=NAMESPACE)
    parser.add_argument("--lease", default=LEASE)
    parser.add_argument("--configmap", default=CONFIGMAP)
    parser.add_argument("--work-dir", required=True, type=Path)
    parser.add_argument("--ttl", type=int, default=LEASE_DURATION_S, help="Lease duration, seconds")
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--git-timeout", type=float, default=1.0, help="seconds per fetch")
    parser.add_argument("--source-failures", type=int, default=2, help="failed fetches in a row = unhealthy")
    parser.add_argument("--campaign-delay", type=float, default=None, help="override the role's delay, seconds")
    args = parser.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    api = KubeApi.from_kubeconfig(args.kubeconfig, timeout_s=1.0,
                                  servers=[url for url in args.kube_servers.split(",") if url] or None)
    reconciler = Reconciler(args, api)
    reconciler.log(f"started: git {args.git_url}, Lease {args.namespace}/{args.lease}")
    while not stop.is_set():
        started = time.monotonic()
        reconciler.step()
        stop.wait(max(0.0, args.interval - (time.monotonic() - started)))
    reconciler.close()
    reconciler.log("stopped, Lease released")
    return 0


if __name__ == "__main__":
    sys.exit(main())
