"""Where the control plane runs in the lab: its supervisor spec entries, PKI, kubeconfigs and API LB sections.

Real Kubernetes (the release ``bin/setup`` builds, :mod:`zerospof.kube_binaries`): one etcd member and one
kube-apiserver per region-1 AZ (``cp-etcd-r1-a``, ``cp-api-r1-a`` ...), the API load balancer on region 1's HAProxy
nodes (TLS passthrough, health check ``GET /readyz``), a kube-scheduler pair (``cp-sched-r1-a``/``-b``) and a
kube-controller-manager pair (``cp-cm-r1-a``/``-b``) electing through their Leases in ``kube-system``, each talking
to the API through its own AZ's API LB node, and one node agent per AZ (``kube-node-r1-a`` ...,
:mod:`zerospof.lab.kube.node_agent`, the kubelet stand-in) keeping that AZ's Node ``node-r1-a`` alive.

Lease durations (scheduler and controller-manager): lease 8 s, renew deadline 6 s, retry 1 s — a killed holder's
standby takes over 8-10 s later (inside the control-plane objective's 60 s detection), while a holder keeps its
Lease through renewals that take up to 6 s (each try times out after 3 s): on two busy cores, an AZ loss (an etcd
member and an API server blackholed, Patroni failing over) made 4 s too short. Like every kube-scheduler and
kube-controller-manager, they exit when they lose their Lease; the supervisor restarts them (``on-failure``). Node lifecycle: the agents renew every 1 s; the node lifecycle
controller checks every 2 s and marks a Node NotReady after 10 s without a renewal (defaults 5 s / 50 s).

The scheduler's and controller-manager's Lease holder identity is ``<hostname>_<uuid>``; each runs in its own UTS
namespace whose hostname is its component name, so the holder names the component (the process id is unchanged).
Component names double as etcd member names. Ports differ from Patroni's etcd (2379/2380 in r1-c), the app (8000)
and the app LB (8080).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zerospof.kube_binaries import kube_binary
from zerospof.lab import topology as t
from zerospof.lab.configs import ETCD_ENV, daemon_python
from zerospof.lab.controlplane.api_lb import api_lb_config
from zerospof.lab.controlplane.etcd_cluster import EtcdMember, client_urls, cluster_argvs
from zerospof.lab.kube.pki import ClientIdentity, pki_paths, write_kubeconfig, write_pki

__all__ = [
    "API_LB_PORT", "API_PORT", "APP_DEPLOYMENT", "APP_NAMESPACE", "APP_USER", "GITOPS_USER", "CM_ZONES", "CP_ETCD_CLIENT_PORT",
    "CP_ETCD_PEER_PORT", "CP_ZONES", "LEASE_DURATION_S", "NODE_GRACE_S", "SCHEDULER_ZONES", "admin_kubeconfig",
    "api_lb_sections", "api_lb_urls", "apiserver_argv", "client_kubeconfig", "components", "controller_manager_argv", "etcd_endpoints",
    "etcd_members", "in_own_uts", "node_name", "pki_dir", "scheduler_argv", "write_kube_files",
]

CP_ZONES = ("r1-a", "r1-b", "r1-c")
SCHEDULER_ZONES = ("r1-a", "r1-b")
CM_ZONES = ("r1-a", "r1-b")
CP_ETCD_CLIENT_PORT = 2479
CP_ETCD_PEER_PORT = 2480
API_PORT = 6443
API_LB_PORT = 7443
LEASE_DURATION_S, RENEW_DEADLINE_S, RETRY_PERIOD_S = 8, 6, 1
NODE_MONITOR_PERIOD_S, NODE_GRACE_S = 2, 10
APP_NAMESPACE = "zerospof-lab"
APP_DEPLOYMENT = "app"
GITOPS_USER = "zerospof-lab-gitops"  # the reconcilers' identity (a client certificate)
APP_USER = "zerospof-lab-app"  # the app replicas' identity
GO_ENV = {"GOGC": "50"}  # Go's GC at 50%: smaller heaps for the API servers and controllers, a little more CPU
CONTROLLERS = ("deployment-controller", "replicaset-controller", "garbage-collector-controller",
               "namespace-controller", "serviceaccount-controller", "node-lifecycle-controller",
               "disruption-controller")


def etcd_members(state_dir: Path) -> list[EtcdMember]:
    return [EtcdMember(f"cp-etcd-{zone}", t.place(zone).address, CP_ETCD_CLIENT_PORT, CP_ETCD_PEER_PORT,
                       str(state_dir / "data" / f"cp-etcd-{zone}")) for zone in CP_ZONES]


def etcd_endpoints() -> list[str]:
    return client_urls(etcd_members(Path("/unused")))


def api_lb_urls(first_zone: str | None = None) -> list[str]:
    """The API load balancer's ``https://`` URLs (region 1's LB nodes), ``first_zone``'s node first when it has one."""
    zones = sorted(t.LB_ZONES[t.REGIONS[0]], key=lambda zone: zone != first_zone)
    return [f"https://{t.place(zone).address}:{API_LB_PORT}" for zone in zones]


def node_name(zone: str) -> str:
    """The Node object that AZ ``zone``'s node agent keeps alive."""
    return f"node-{zone}"


def pki_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "kube" / "pki"


def admin_kubeconfig(state_dir: Path) -> Path:
    """``<state dir>/kubeconfig``: the admin's (``system:masters``), reaching the API through the API LB."""
    return Path(state_dir) / "kubeconfig"


def api_lb_sections(lb_zone: str) -> str:
    """HAProxy sections to append to ``lb-<lb_zone>``'s config (a region-1 LB node)."""
    replicas = [(f"cp-api-{zone}", f"{t.place(zone).address}:{API_PORT}") for zone in CP_ZONES]
    return api_lb_config(f"{t.place(lb_zone).address}:{API_LB_PORT}", replicas)


def _clients() -> list[ClientIdentity]:
    return [("admin", "zerospof-lab-admin", ("system:masters",)),
            ("scheduler", "system:kube-scheduler", ()),
            ("controller-manager", "system:kube-controller-manager", ()),
            *[(node_name(zone.name), f"system:node:{node_name(zone.name)}", ("system:nodes",)) for zone in t.ZONES],
            ("gitops", GITOPS_USER, ()), ("app", APP_USER, ())]


def write_kube_files(state_dir: Path) -> None:
    """Write the PKI (:mod:`zerospof.lab.kube.pki`) and every component's kubeconfig, and the admin's."""
    addresses = [t.place(zone).address for zone in (*CP_ZONES, *t.LB_ZONES[t.REGIONS[0]])]
    pki = write_pki(pki_dir(state_dir), list(dict.fromkeys(addresses)), _clients())
    write_kubeconfig(admin_kubeconfig(state_dir), api_lb_urls()[0], pki, "admin")
    for zone in SCHEDULER_ZONES:
        write_kubeconfig(_kubeconfig(state_dir, f"cp-sched-{zone}"), api_lb_urls(zone)[0], pki, "scheduler")
    for zone in CM_ZONES:
        write_kubeconfig(_kubeconfig(state_dir, f"cp-cm-{zone}"), api_lb_urls(zone)[0], pki, "controller-manager")
    for zone in t.ZONES:
        write_kubeconfig(_kubeconfig(state_dir, f"kube-node-{zone.name}"), api_lb_urls()[0], pki, node_name(zone.name))
    for stem in ("gitops", "app"):
        write_kubeconfig(client_kubeconfig(state_dir, stem), api_lb_urls()[0], pki, stem)


def _kubeconfig(state_dir: Path, component: str) -> Path:
    return Path(state_dir) / "kube" / f"{component}.kubeconfig"


def client_kubeconfig(state_dir: Path, stem: str) -> Path:
    """The kubeconfig of the GitOps reconcilers (``gitops``) or of the app replicas (``app``); their RBAC is
    :func:`zerospof.lab.kube.workload.rbac`."""
    return _kubeconfig(state_dir, stem)


def in_own_uts(name: str, argv: list[str]) -> list[str]:
    """Run ``argv`` in a new UTS namespace with hostname ``name`` (exec all the way: the pid stays)."""
    return ["unshare", "--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"', name, *argv]


def apiserver_argv(address: str, port: int, etcd: list[str], pki: dict[str, Path], cert_dir: Path) -> list[str]:
    """A kube-apiserver serving ``address:port`` on the etcd cluster ``etcd`` with the lab's ``pki``."""
    return [
        str(kube_binary("kube-apiserver")), f"--etcd-servers={','.join(etcd)}", f"--bind-address={address}",
        f"--advertise-address={address}", f"--secure-port={port}", f"--cert-dir={cert_dir}",
        f"--tls-cert-file={pki['serving']}", f"--tls-private-key-file={pki['serving_key']}",
        f"--client-ca-file={pki['ca']}", "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
        f"--service-account-key-file={pki['sa_pub']}", f"--service-account-signing-key-file={pki['sa_key']}",
        "--service-account-issuer=https://kubernetes.default.svc", "--service-cluster-ip-range=10.96.0.0/24",
        "--profiling=false"]


_ELECTION = ["--leader-elect=true", f"--leader-elect-lease-duration={LEASE_DURATION_S}s",
             f"--leader-elect-renew-deadline={RENEW_DEADLINE_S}s", f"--leader-elect-retry-period={RETRY_PERIOD_S}s",
             "--secure-port=0", "--profiling=false"]


def scheduler_argv(name: str, kubeconfig: Path) -> list[str]:
    """A kube-scheduler electing through its Lease (see the module doc), holder identity ``<name>_<uuid>``."""
    return in_own_uts(name, [str(kube_binary("kube-scheduler")), f"--kubeconfig={kubeconfig}", *_ELECTION])


def controller_manager_argv(name: str, kubeconfig: Path, pki: dict[str, Path]) -> list[str]:
    """A kube-controller-manager electing through its Lease, running :data:`CONTROLLERS`, with the lab's node
    lifecycle timings; holder identity ``<name>_<uuid>``."""
    return in_own_uts(name, [
        str(kube_binary("kube-controller-manager")), f"--kubeconfig={kubeconfig}", *_ELECTION,
        "--use-service-account-credentials=true", f"--controllers={','.join(CONTROLLERS)}",
        f"--service-account-private-key-file={pki['sa_key']}", f"--root-ca-file={pki['ca']}",
        f"--node-monitor-period={NODE_MONITOR_PERIOD_S}s", f"--node-monitor-grace-period={NODE_GRACE_S}s",
        "--vmodule=controller_utils=2"])  # logs each Node's NotReady (the accuracy tests' ground truth)


def components(state_dir: Path) -> dict[str, dict[str, Any]]:
    """Supervisor spec entries (same shape as :func:`zerospof.lab.configs.write_all`'s). Pure: the files they
    read are written by :func:`write_kube_files`."""
    interpreter, env = daemon_python()
    pki = pki_paths(pki_dir(state_dir), [stem for stem, _, _ in _clients()])
    spec: dict[str, dict[str, Any]] = {}

    def add(name: str, kind: str, zone: str, argv: list[str], extra_env: dict[str, str] | None = None) -> None:
        spec[name] = {"kind": kind, "namespace": t.place(zone).namespace, "zone": zone, "argv": argv,
                      "user": "root", "env": {**env, **(extra_env or {})}, "cwd": str(state_dir)}

    for member, argv in cluster_argvs(etcd_members(state_dir)).items():
        add(member, "cp-etcd", member.removeprefix("cp-etcd-"), argv, ETCD_ENV)
    for zone in CP_ZONES:
        add(f"cp-api-{zone}", "cp-api", zone, apiserver_argv(t.place(zone).address, API_PORT, etcd_endpoints(), pki,
                                                             Path(state_dir) / "kube" / f"cp-api-{zone}"), GO_ENV)
    for zone in SCHEDULER_ZONES:
        name = f"cp-sched-{zone}"
        add(name, "cp-scheduler", zone, scheduler_argv(name, _kubeconfig(state_dir, name)), GO_ENV)
        spec[name]["restart"] = "on-failure"  # it exits when it loses its Lease, by design
    for zone in CM_ZONES:
        name = f"cp-cm-{zone}"
        add(name, "cp-cm", zone, controller_manager_argv(name, _kubeconfig(state_dir, name), pki), GO_ENV)
        spec[name]["restart"] = "on-failure"
    for zone in t.ZONES:
        name = f"kube-node-{zone.name}"
        servers = api_lb_urls(zone.name)
        add(name, "kube-node", zone.name, [
            *interpreter, "-m", "zerospof.lab.kube.node_agent", f"--node={node_name(zone.name)}",
            f"--zone={zone.name}", f"--region={zone.region}", f"--address={zone.address}",
            f"--kubeconfig={_kubeconfig(state_dir, name)}", f"--servers={','.join(servers)}",
            f"--app-health=http://{zone.address}:{t.APP_PORT}/health"])
    return spec
