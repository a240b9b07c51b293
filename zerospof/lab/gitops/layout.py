"""Where GitOps runs in the lab: the supervisor spec entries of the git hosts and the reconcilers.

Two places of :mod:`zerospof.lab.topology` (``GIT_HOSTS``), so that "the primary git host is
unreachable" cuts only that host: ``git1`` (10.77.6.1, the primary host, where users push) and
``git2`` (10.77.6.2, the mirror, i.e. the backup provider, and its sync loop). Both accept pushes:
users push to the mirror while the primary is out, and the sync loop carries those commits back
(fast-forward only, see :mod:`.mirror`). Reconcilers: primary in r1-a, secondary in r1-b (both
read git1), backup in r2-a (reads git2). They elect through the ``coordination.k8s.io`` Lease
``zerospof-lab/gitops-controller`` on the lab's Kubernetes API (region 1's, through the API LB) and apply the
app's revision as the ConfigMap ``zerospof-lab/app-revision`` that every app replica serves
(:mod:`.reconciler`). So a region-1 loss leaves GitOps without its API, as on EKS a region's cluster takes its
Argo CD with it: the region-failure scenario does not judge the GitOps layer. Component names double as the
reconcilers' holder identities.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zerospof.lab import topology as t
from zerospof.lab.configs import daemon_python
from zerospof.lab.controlplane import layout as cp
from zerospof.lab.gitops.repo import daemon_argv

__all__ = ["GIT_PLACES", "GIT_PORT", "REPOSITORY", "RECONCILERS", "app_urls", "components",
           "git_url", "mirror_repository", "mirror_status_path", "primary_repository", "reader_of"]

GIT_PLACES = {"primary": t.GIT_HOSTS[0], "mirror": t.GIT_HOSTS[1]}
GIT_PORT = t.GIT_PORT
REPOSITORY = "platform.git"
RECONCILERS = {"gitops-primary": ("primary", "r1-a", "primary"), "gitops-secondary": ("secondary", "r1-b", "primary"),
               "gitops-backup": ("backup", "r2-a", "mirror")}  # name: (role, zone, git host)


def git_url(host: str) -> str:
    return f"git://{GIT_PLACES[host].address}:{GIT_PORT}/{REPOSITORY}"


def app_urls() -> list[str]:
    return [f"http://{zone.address}:{t.APP_PORT}" for zone in t.ZONES]


def primary_repository(state_dir: Path) -> Path:
    """The primary host's bare repo (create it with :func:`repo.init_repository` before starting)."""
    return state_dir / "data" / "git-primary" / REPOSITORY


def mirror_repository(state_dir: Path) -> Path:
    """The mirror's bare repo (the sync loop creates it; its directory must exist before the daemon starts)."""
    return state_dir / "data" / "git-mirror" / REPOSITORY


def reader_of(reconciler_name: str) -> str:
    """Return the git host (``primary`` or ``mirror``) the reconciler ``reconciler_name`` reads."""
    return RECONCILERS[reconciler_name][2]


def mirror_status_path(state_dir: Path) -> Path:
    return state_dir / "run" / "git-mirror-status.json"


def components(state_dir: Path) -> dict[str, dict[str, Any]]:
    """Supervisor spec entries (same shape as :func:`zerospof.lab.configs.write_all`'s)."""
    interpreter, env = daemon_python()
    spec: dict[str, dict[str, Any]] = {}

    def add(name: str, kind: str, where: t.Place, argv: list[str]) -> None:
        spec[name] = {"kind": kind, "namespace": where.namespace, "zone": where.name, "argv": argv,
                      "user": "root", "env": env, "cwd": str(state_dir)}

    primary, mirror = GIT_PLACES["primary"], GIT_PLACES["mirror"]
    mirror_base = mirror_repository(state_dir).parent
    add("git-primary", "git", primary, daemon_argv(primary_repository(state_dir).parent, primary.address, GIT_PORT,
                                                   receive_pack=True))
    add("git-mirror", "git", mirror, daemon_argv(mirror_base, mirror.address, GIT_PORT, receive_pack=True))
    add("git-mirror-sync", "git", mirror, [
        *interpreter, "-m", "zerospof.lab.gitops.mirror", f"--source={git_url('primary')}",
        f"--mirror={mirror_base / REPOSITORY}", f"--status={mirror_status_path(state_dir)}"])
    for name, (role, zone, host) in RECONCILERS.items():
        servers = cp.api_lb_urls(zone)
        add(name, "gitops", t.place(zone), [
            *interpreter, "-m", "zerospof.lab.gitops.reconciler", f"--name={name}", f"--role={role}",
            f"--git-url={git_url(host)}", f"--kubeconfig={cp.client_kubeconfig(state_dir, 'gitops')}",
            f"--kube-servers={','.join(servers)}", f"--namespace={cp.APP_NAMESPACE}",
            f"--work-dir={state_dir / 'data' / name}"])
    return spec

