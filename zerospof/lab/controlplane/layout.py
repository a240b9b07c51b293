"""Where the control plane runs in the lab: its supervisor spec entries and the API load balancer sections.

Pure data plus argv builders; nothing here starts anything. One etcd member, one API replica per
region-1 AZ; the scheduler pair in r1-a and r1-b; the API load balancer on region 1's HAProxy
nodes. Ports differ from Patroni's etcd (2379/2380 in r1-c), the app (8000) and the app LB (8080).
Component names double as etcd member names and scheduler candidate names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zerospof.lab import topology as t
from zerospof.lab.configs import ETCD_ENV, daemon_python
from zerospof.lab.controlplane.api_lb import api_lb_config
from zerospof.lab.controlplane.etcd_cluster import EtcdMember, client_urls, cluster_argvs

__all__ = [
    "API_LB_PORT", "API_PORT", "CP_ETCD_CLIENT_PORT", "CP_ETCD_PEER_PORT", "CP_ZONES", "SCHEDULER_ZONES",
    "api_lb_sections", "components", "etcd_endpoints", "etcd_members",
]

CP_ZONES = ("r1-a", "r1-b", "r1-c")
SCHEDULER_ZONES = ("r1-a", "r1-b")
CP_ETCD_CLIENT_PORT = 2479
CP_ETCD_PEER_PORT = 2480
API_PORT = 6443
API_LB_PORT = 7443


def etcd_members(state_dir: Path) -> list[EtcdMember]:
    return [EtcdMember(f"cp-etcd-{zone}", t.place(zone).address, CP_ETCD_CLIENT_PORT, CP_ETCD_PEER_PORT,
                       str(state_dir / "data" / f"cp-etcd-{zone}")) for zone in CP_ZONES]


def etcd_endpoints() -> list[str]:
    return client_urls(etcd_members(Path("/unused")))


def api_lb_sections(lb_zone: str) -> str:
    """HAProxy sections to append to ``lb-<lb_zone>``'s config (a region-1 LB node)."""
    replicas = [(f"cp-api-{zone}", f"{t.place(zone).address}:{API_PORT}") for zone in CP_ZONES]
    return api_lb_config(f"{t.place(lb_zone).address}:{API_LB_PORT}", replicas)


def components(state_dir: Path) -> dict[str, dict[str, Any]]:
    """Supervisor spec entries (same shape as :func:`zerospof.lab.configs.write_all`'s)."""
    interpreter, env = daemon_python()
    etcd = ",".join(etcd_endpoints())
    spec: dict[str, dict[str, Any]] = {}

    def add(name: str, kind: str, zone: str, argv: list[str], extra_env: dict[str, str] | None = None) -> None:
        spec[name] = {"kind": kind, "namespace": t.place(zone).namespace, "zone": zone, "argv": argv,
                      "user": "root", "env": {**env, **(extra_env or {})}, "cwd": str(state_dir)}

    for member, argv in cluster_argvs(etcd_members(state_dir)).items():
        add(member, "cp-etcd", member.removeprefix("cp-etcd-"), argv, ETCD_ENV)
    for zone in CP_ZONES:
        add(f"cp-api-{zone}", "cp-api", zone, [
            *interpreter, "-m", "zerospof.lab.controlplane.api_server", f"--listen={t.place(zone).address}:{API_PORT}",
            f"--etcd={etcd}", f"--name=cp-api-{zone}"])
    for zone in SCHEDULER_ZONES:
        add(f"cp-sched-{zone}", "cp-scheduler", zone, [
            *interpreter, "-m", "zerospof.lab.controlplane.scheduler", f"--name=cp-sched-{zone}", f"--etcd={etcd}"])
    return spec
