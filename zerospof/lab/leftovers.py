"""Find anything the lab could leave behind: processes, namespaces, links, firewall rules."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from zerospof.lab import network
from zerospof.lab import topology as t
from zerospof.lab.supervisor import forked_daemons

__all__ = ["find", "lab_processes", "DAEMON_NAMES"]

DAEMON_NAMES = ("etcd", "haproxy", "pdns_server", "postgres", "patroni", "git", "git-daemon", "git-upload-pack",
                "git-receive-pack", "kube-apiserver", "kube-scheduler", "kube-controller")  # comm: 15 characters
_SUPERVISOR = "zerospof.lab.supervisor"  # also the command line of the daemons it forks without exec
_OUR_MARKERS = (_SUPERVISOR, "zerospof.lab.app", "zerospof.lab.controlplane", "zerospof.lab.kube", "zerospof.lab.gitops",
                f"postgres: {t.PATRONI_SCOPE}:")


def lab_processes(state_dir: Path | None) -> list[dict[str, Any]]:
    """The lab's processes still alive (see :func:`find`), whether or not their supervisor is."""
    found = []
    forked = forked_daemons(state_dir)
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = stat.split("(", 1)[1].rsplit(")", 1)[0]
        state = stat.rsplit(")", 1)[1].split()[0]
        if state == "Z":  # dead, waiting for its parent (PID 1 after a supervisor SIGKILL) to reap it
            continue
        ours = any(marker in cmdline for marker in _OUR_MARKERS) or (
            state_dir is not None and str(state_dir) in cmdline
        )
        if ours and _SUPERVISOR in cmdline and "python" not in comm:
            cmdline = f"{forked.get(comm, 'a daemon')} forked by {cmdline}"
        elif not (ours and (comm in DAEMON_NAMES or "python" in comm or "patroni" in cmdline)):
            continue
        found.append({"pid": int(entry), "comm": comm, "cmdline": cmdline.strip()[:160]})
    return found


def find(state_dir: str | Path | None = None) -> dict[str, list[Any]]:
    """Return what is left: ``{"processes", "namespaces", "links", "iptables"}`` (all empty when clean).

    Processes count when they are the lab's: the supervisor, app replicas, API replicas,
    schedulers, reconcilers, the mirror's sync loop, PostgreSQL of the lab's Patroni cluster, or
    any process whose command line names ``state_dir`` (every daemon's config or data lives there,
    e.g. etcd's data dir, ``git daemon --base-path``). Other projects' etcd or HAProxy on loopback are not the lab's.
    Zombies are not counted: they are dead and only wait for PID 1 to reap them.
    """
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, timeout=10).stdout
    lab_links = sorted({line.split(":")[1].strip().split("@")[0] for line in links.splitlines()
                        if line.split(":")[1].strip().startswith(("zs-", t.BRIDGE))})
    rules: list[str] = []
    for tool in ("iptables-save", "ip6tables-save"):
        try:
            output = subprocess.run([tool], capture_output=True, text=True, timeout=10).stdout
        except FileNotFoundError:
            continue
        rules += [line for line in output.splitlines() if "zs-" in line or "10.77." in line]
    return {"processes": lab_processes(None if state_dir is None else Path(state_dir)), "namespaces": network.existing_namespaces(), "links": lab_links,
            "iptables": rules}
