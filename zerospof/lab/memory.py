"""Measure the lab's memory: proportional set size (PSS) of every process in its namespaces."""

from __future__ import annotations

from pathlib import Path

from zerospof.lab import network
from zerospof.lab.supervisor import forked_daemons

__all__ = ["pss_by_component"]

_LABELS = (  # command-line marker -> label (first match wins)
    (b"patroni", "patroni"), (b"zerospof.lab.app", "app"), (b"zerospof.lab.supervisor", "supervisor"),
    (b"zerospof.lab.kube.node_agent", "kube-node-agent"),
    (b"zerospof.lab.gitops.reconciler", "gitops-reconciler"), (b"zerospof.lab.gitops.mirror", "git-mirror-sync"),
    (b"--name=cp-etcd-", "cp-etcd"),
)


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def pss_by_component(supervisor_pid: int | None = None, state_dir: Path | None = None) -> dict[str, float]:
    """Return PSS in MiB per process name (``etcd``, ``postgres``, ...), plus ``total``.

    With the lab's ``state_dir``, daemons forked from the supervisor count under their own label
    (``app``, ``cp-api``, ...), not the supervisor's.
    """
    totals: dict[str, int] = {}
    forked = {comm: module.encode() for comm, module in forked_daemons(state_dir).items()}
    pids = [pid for ns in network.existing_namespaces() for pid in network.namespace_pids(ns)]
    if supervisor_pid is not None:
        pids.append(supervisor_pid)
    for pid in pids:
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        cmdline = forked.get(comm, cmdline) if pid != supervisor_pid else cmdline
        for marker, name in _LABELS:
            if marker in cmdline:
                comm = name
                break
        totals[comm] = totals.get(comm, 0) + _pss_kib(pid)
    result = {name: round(kib / 1024, 1) for name, kib in sorted(totals.items())}
    result["total"] = round(sum(totals.values()) / 1024, 1)
    return result
