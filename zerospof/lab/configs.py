"""Render every daemon's configuration into the state dir and describe how to run it.

:func:`write_all` returns the supervisor spec: ``{name: {"namespace", "argv", "user", "env", "cwd",
"zone", "kind"}}``. Component names: ``app-r1-a``, ``lb-r1-a``, ``dns1``, ``etcd-witness``, ``pg-r1-a``
(the Patroni process, which runs PostgreSQL as its child); the control plane's ``cp-etcd-r1-a``,
``cp-api-r1-a`` (kube-apiserver), ``cp-sched-r1-a``, ``cp-cm-r1-a``, ``kube-node-r1-a`` (see :mod:`zerospof.lab.controlplane.layout`); GitOps'
``git-primary``, ``git-mirror``, ``git-mirror-sync``, ``gitops-primary`` ... (see
:mod:`zerospof.lab.gitops.layout`).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Any

import yaml

from zerospof.lab import topology as t

__all__ = ["ETCD_ENV", "PROJECT_ROOT", "component_names", "daemon_python", "haproxy_socket", "postgres_python",
           "write_all"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PG_BIN_DIR = "/usr/lib/postgresql/15/bin"

# Health-check settings measured to lose 0 requests when a backend is killed or partitioned.
_HAPROXY_DEFAULTS = """\
defaults
    log global
    option dontlog-normal
    timeout connect 150ms
    timeout client 30s
    timeout server 10s
    timeout check 400ms
    retries 3
    option redispatch 1
    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2
"""


# How long an LB node waits for an app's answer to a read before it retries the read on another app. Well
# below the lab users' own per-try timeout (client.READ_RETRY_AFTER_S, 0.8 s): at 700 ms the two raced, and
# on a loaded machine a user gave up on the surviving LB node just before its retry answered (a kept AZ-loss
# run: "failed on every address", lb-r1-b timed out at 0.8 s, the lost lb-r1-a after it).
LB_READ_TRY_MS = 450

# Go's garbage collector at 25% instead of 100%: under the lab's request rate (health checks, lease
# keepalives, campaigns) an etcd member's heap then stays near half the size (measured: three members
# under load 90 MiB with the default, 48 MiB with GOGC=25).
ETCD_ENV = {"GOGC": "25"}


PATRONI_RUNTIME = Path("/opt/zerospof/patroni")


def postgres_python() -> tuple[list[str], dict[str, str]]:
    """Return the interpreter and environment that run Patroni as the ``postgres`` user.

    The project's venv interpreter may live where ``postgres`` cannot read it (e.g. under
    ``/root/.pyenv``). The system ``/usr/bin/python3`` of the same minor version imports Patroni
    from ``/opt/zerospof/patroni`` (``bin/setup`` installs it there, world-readable), else from the
    venv's site-packages, which then must be world-readable. It runs with ``-S``
    so Debian's ``dist-packages`` (an old pyOpenSSL that breaks on import) stay out of the way.
    """
    site = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    if (PATRONI_RUNTIME / ".complete").exists():  # installed by bin/setup where postgres can always read it
        site = [str(PATRONI_RUNTIME)]
    system = "/usr/bin/python3"
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if os.path.exists(system) and os.path.realpath(system).endswith(version):
        return [system, "-S"], {"PYTHONPATH": ":".join(dict.fromkeys(site))}
    return [sys.executable], {}


def daemon_python() -> tuple[list[str], dict[str, str]]:
    """Return the argv prefix and environment that run the lab's own Python daemons (app, API, reconcilers ...).

    ``-S`` skips ``site`` (about 2 MiB per process: the lab runs fifteen of them); the project and
    the venv's site-packages (e.g. PyYAML) come from ``PYTHONPATH`` instead.
    """
    paths = [str(PROJECT_ROOT), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return [sys.executable, "-S"], {"PYTHONPATH": ":".join(dict.fromkeys(paths)), "PYTHONDONTWRITEBYTECODE": "1",
                                    "MALLOC_ARENA_MAX": "2"}


def haproxy_socket(state_dir: Path, zone: str) -> Path:
    """Path of the admin stats socket of the LB node in ``zone``."""
    return state_dir / "run" / f"lb-{zone}.sock"


def component_names(kind: str | None = None) -> list[str]:
    """Names of the lab's components, optionally only those of ``kind``.

    Kinds: app, lb, dns, etcd, pg; cp-etcd, cp-api, cp-scheduler, cp-cm, kube-node (control plane); git, gitops;
    security.
    """
    from zerospof.lab.controlplane import layout as cp
    from zerospof.lab.gitops import layout as gitops

    names = (
        [("etcd", f"etcd-{p}") for p in t.ETCD_PLACES]
        + [("dns", p.name) for p in t.DNS_SERVERS]
        + [("lb", f"lb-{z}") for zones in t.LB_ZONES.values() for z in zones]
        + [("app", f"app-{z.name}") for z in t.ZONES]
        + [("pg", f"pg-{z}") for z in t.PG_ZONES]
        + [("cp-etcd", f"cp-etcd-{z}") for z in cp.CP_ZONES]
        + [("cp-api", f"cp-api-{z}") for z in cp.CP_ZONES]
        + [("cp-scheduler", f"cp-sched-{z}") for z in cp.SCHEDULER_ZONES]
        + [("cp-cm", f"cp-cm-{z}") for z in cp.CM_ZONES]
        + [("kube-node", f"kube-node-{z.name}") for z in t.ZONES]
        + [("git", name) for name in ("git-primary", "git-mirror", "git-mirror-sync")]
        + [("gitops", name) for name in gitops.RECONCILERS]
        + [("security", f"sec-{region}") for region in t.SECURITY_ZONES]
    )
    return [name for k, name in names if kind is None or k == kind]


def _haproxy(state_dir: Path, zone: str) -> str:
    """The LB node's config: the app, PostgreSQL's write and read ports and, in region 1, the control plane's API."""
    from zerospof.lab.controlplane import layout as cp

    me = t.place(zone)
    region = me.region or ""
    apps = "".join(
        f"    server app-{z.name} {z.address}:{t.APP_PORT} check\n" for z in t.zones_of_region(region)
    )
    pgs = [t.place(z) for z in t.PG_ZONES]
    def pg_servers(extra: str) -> str:
        return "".join(
            f"    server pg-{p.name} {p.address}:{t.PG_PORT} check port {t.PATRONI_PORT}{extra}\n" for p in pgs
        )
    return f"""\
global
    maxconn 2000
    stats socket {haproxy_socket(state_dir, zone)} mode 600 level admin
    log stdout format iso local0 info

{_HAPROXY_DEFAULTS}
frontend app
    mode http
    option http-buffer-request
    bind {me.address}:{t.LB_PORT}
    default_backend app

backend app
    mode http
    option httpchk GET /health
    retry-on conn-failure empty-response response-timeout 503
    timeout server 5s
    # a read in flight to a zone that is lost before its health checks fail: retried elsewhere well inside
    # the slow-request limit (1 s) instead of waiting 5 s; reads are safe to retry, writes keep 5 s
    http-request set-timeout server {LB_READ_TRY_MS}ms if METH_GET || METH_HEAD
{apps}
listen pg_write
    mode tcp
    bind {me.address}:{t.DB_WRITE_PORT}
    option httpchk GET /primary
    http-check expect status 200
{pg_servers(" on-marked-down shutdown-sessions")}
listen pg_read
    mode tcp
    bind {me.address}:{t.DB_READ_PORT}
    option httpchk GET /read-only
    http-check expect status 200
{pg_servers("")}""" + (f"\n{cp.api_lb_sections(zone)}" if region == t.REGIONS[0] else "")


def _lb_hosts_for(zone: t.Place) -> list[str]:
    lbs = list(t.LB_ZONES[zone.region or ""])
    lbs.sort(key=lambda z: z != zone.name)  # the AZ's own LB node first
    return [t.place(z).address for z in lbs]


DNS_ANSWERS = ("health-checked", "pinned")


def dns_zone(answers: str = "health-checked") -> str:
    """The lab's zone file. ``health-checked`` (the lab's own): the app's name answers every LB node of the
    first region whose nodes serve a read (PowerDNS LUA ``ifurlup``), else the next region's.
    ``pinned`` re-creates a flaw on purpose: a plain A record naming one LB node (lb-r1-a), no health check,
    so losing that node takes every user down.
    """
    if answers == "health-checked":
        sets = ", ".join(
            "{" + ", ".join(f"'{t.place(z).address}'" for z in t.LB_ZONES[region]) + "}" for region in t.REGIONS
        )
        # /read, not /health: an LB node is an answer only while it can serve a user's read (an AZ coming back
        # still marks its region's apps and databases down for a moment; /health would let users in too early)
        rule = (f"ifurlup('http://{t.APP_NAME}:{t.LB_PORT}/read', {{{sets}}}, "
                f"{{timeout=1, selector='all'}})")
        app = f'app 1 IN LUA A "{rule}"\n'
    elif answers == "pinned":
        app = f"app 1 IN A {t.place(t.LB_ZONES[t.REGIONS[0]][0]).address}\n"
    else:
        raise ValueError(f"DNS answers must be one of {', '.join(DNS_ANSWERS)}, not {answers!r}")
    ns_lines = "".join(f"ns{i} 3600 IN A {p.address}\n" for i, p in enumerate(t.DNS_SERVERS, start=1))
    return (f"$ORIGIN {t.DNS_ZONE}.\n"
            f"@ 3600 IN SOA ns1.{t.DNS_ZONE}. hostmaster.{t.DNS_ZONE}. 1 3600 600 86400 1\n"
            + "".join(f"@ 3600 IN NS ns{i}.{t.DNS_ZONE}.\n" for i in range(1, len(t.DNS_SERVERS) + 1))
            + ns_lines + app)


def dns_directory(state_dir: Path, server: t.Place) -> Path:
    return state_dir / server.name


def dns_answers_file(state_dir: Path) -> Path:
    """Where a running lab keeps its DNS answers mode when it is not the default (see :func:`dns_zone`)."""
    return state_dir / "run" / "dns-answers"


def dns_answers(state_dir: Path) -> str:
    file = dns_answers_file(state_dir)
    return file.read_text().strip() if file.exists() else "health-checked"


def dns_expected_addresses(answers: str) -> list[str]:
    """The addresses the app's name answers with, sorted, while every LB node serves (``answers``: a mode)."""
    zones = t.LB_ZONES[t.REGIONS[0]]
    return sorted(t.place(z).address for z in (zones if answers == "health-checked" else zones[:1]))


def _pdns(state_dir: Path, server: t.Place) -> Path:
    directory = dns_directory(state_dir, server)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "zone").write_text(dns_zone())
    (directory / "named.conf").write_text(
        f'zone "{t.DNS_ZONE}" {{ type master; file "{directory / "zone"}"; }};\n'
    )
    (directory / "pdns.conf").write_text(
        "\n".join([
            "launch=bind",
            f"bind-config={directory / 'named.conf'}",
            "enable-lua-records=yes",
            "lua-health-checks-interval=1",
            f"local-address={server.address}",
            "local-port=53",
            "daemon=no",
            "guardian=no",
            "disable-syslog=yes",
            "log-timestamp=yes",
            f"socket-dir={directory}",
            "cache-ttl=0",
            "max-packet-cache-entries=1000",
            "max-cache-entries=1000",
            "negquery-cache-ttl=0",
            "query-cache-ttl=0",
            "webserver=no",
            "api=no",
            "loglevel=4",
            "distributor-threads=1",
            "receiver-threads=1",
            "signing-threads=1",
            "",
        ])
    )
    return directory


def _etcd_argv(state_dir: Path, where: str) -> list[str]:
    me = t.place(where)
    cluster = ",".join(
        f"etcd-{p}=http://{t.place(p).address}:{t.ETCD_PEER_PORT}" for p in t.ETCD_PLACES
    )
    return [
        "etcd", f"--name=etcd-{where}", f"--data-dir={state_dir / 'data' / f'etcd-{where}'}",
        f"--listen-client-urls=http://{me.address}:{t.ETCD_CLIENT_PORT}",
        f"--advertise-client-urls=http://{me.address}:{t.ETCD_CLIENT_PORT}",
        f"--listen-peer-urls=http://{me.address}:{t.ETCD_PEER_PORT}",
        f"--initial-advertise-peer-urls=http://{me.address}:{t.ETCD_PEER_PORT}",
        f"--initial-cluster={cluster}", "--initial-cluster-state=new",
        "--initial-cluster-token=zerospof-lab", "--heartbeat-interval=50", "--election-timeout=500",
        "--pre-vote=true",  # a member cut off by an AZ or region loss must not depose the leader when it returns
        "--quota-backend-bytes=104857600", "--log-level=warn", "--logger=zap",
    ]


def etcd_endpoints() -> list[str]:
    """Client URLs of Patroni's etcd members."""
    return [f"http://{t.place(p).address}:{t.ETCD_CLIENT_PORT}" for p in t.ETCD_PLACES]


def _patroni(state_dir: Path, zone: str) -> Path:
    me = t.place(zone)
    home = state_dir / "data" / f"pg-{zone}"
    home.mkdir(parents=True, exist_ok=True)
    postgres = pwd.getpwnam("postgres")
    os.chown(home, postgres.pw_uid, postgres.pw_gid)
    os.chmod(home, 0o700)
    trust = [f"host all all {t.SUBNET} trust", f"host replication all {t.SUBNET} trust",
             "local all all trust", "local replication all trust"]
    config: dict[str, Any] = {
        "scope": t.PATRONI_SCOPE,
        "namespace": "/service/",
        "name": f"pg-{zone}",
        "log": {"level": "INFO", "format": "%(asctime)s %(levelname)s: %(message)s"},
        "restapi": {"listen": f"{me.address}:{t.PATRONI_PORT}",
                    "connect_address": f"{me.address}:{t.PATRONI_PORT}"},
        "etcd3": {"hosts": [f"{t.place(p).address}:{t.ETCD_CLIENT_PORT}" for p in t.ETCD_PLACES],
                  "protocol": "http"},
        "bootstrap": {
            "dcs": {
                "ttl": 20, "loop_wait": 1, "retry_timeout": 5,
                "maximum_lag_on_failover": 1 << 40,
                "postgresql": {
                    "use_pg_rewind": True, "use_slots": True,
                    "remove_data_directory_on_rewind_failure": True,
                    "remove_data_directory_on_diverged_timelines": True,
                    "parameters": {"wal_log_hints": "on", "max_connections": 60, "max_wal_senders": 10,
                                   "max_replication_slots": 10, "wal_keep_size": "128MB",
                                   "hot_standby": "on"},
                    "pg_hba": trust,
                },
            },
            "initdb": [{"encoding": "UTF8"}, "no-sync"],
        },
        "postgresql": {
            "listen": f"{me.address}:{t.PG_PORT}",
            "connect_address": f"{me.address}:{t.PG_PORT}",
            "data_dir": str(home / "data"),
            "bin_dir": PG_BIN_DIR,
            "pgpass": str(home / "pgpass"),
            "authentication": {"superuser": {"username": "postgres"},
                               "replication": {"username": "postgres"},
                               "rewind": {"username": "postgres"}},
            "parameters": {"unix_socket_directories": str(home), "shared_buffers": "16MB",
                           "fsync": "off", "full_page_writes": "on", "max_worker_processes": 4,
                           "wal_level": "replica", "log_min_messages": "warning",
                           "tcp_keepalives_idle": 1, "tcp_keepalives_interval": 1, "tcp_keepalives_count": 3,
                           "tcp_user_timeout": 3000, "wal_sender_timeout": "5s",
                           "wal_receiver_timeout": "5s", "wal_retrieve_retry_interval": "1s"},
            "pg_hba": trust,
            "basebackup": [{"checkpoint": "fast"}],
        },
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
    }
    path = home / "patroni.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    os.chown(path, postgres.pw_uid, postgres.pw_gid)
    return path


def _control_plane_and_gitops(state_dir: Path) -> dict[str, dict[str, Any]]:
    """Spec entries of the control plane and GitOps; writes the control plane's PKI and kubeconfigs, creates the
    primary's repository and the mirror's directory."""
    from zerospof.lab.controlplane import layout as cp
    from zerospof.lab.gitops import layout as gitops
    from zerospof.lab.gitops.repo import init_repository

    cp.write_kube_files(state_dir)
    init_repository(gitops.primary_repository(state_dir))
    gitops.mirror_repository(state_dir).parent.mkdir(parents=True, exist_ok=True)
    return {**cp.components(state_dir), **gitops.components(state_dir)}


def write_all(state_dir: Path) -> dict[str, dict[str, Any]]:
    """Write every config under ``state_dir`` and return the supervisor spec (see module doc)."""
    (state_dir / "run").mkdir(parents=True, exist_ok=True)
    (state_dir / "data").mkdir(parents=True, exist_ok=True)
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o755)
    os.chmod(state_dir / "data", 0o755)
    python, python_env = daemon_python()
    spec: dict[str, dict[str, Any]] = {}

    def add(name: str, kind: str, place: t.Place, argv: list[str], user: str = "root",
            env: dict[str, str] | None = None) -> None:
        spec[name] = {"kind": kind, "namespace": place.namespace, "zone": place.name, "argv": argv,
                      "user": user, "env": {"MALLOC_ARENA_MAX": "2", **(env or {})}, "cwd": str(state_dir)}

    for where in t.ETCD_PLACES:
        add(f"etcd-{where}", "etcd", t.place(where), _etcd_argv(state_dir, where), env=ETCD_ENV)
    for server in t.DNS_SERVERS:
        directory = _pdns(state_dir, server)
        add(server.name, "dns", server, [shutil.which("pdns_server") or "pdns_server",
                                          f"--config-dir={directory}"])
    for zones in t.LB_ZONES.values():
        for zone in zones:
            config = state_dir / f"lb-{zone}.cfg"
            config.write_text(_haproxy(state_dir, zone))
            add(f"lb-{zone}", "lb", t.place(zone), [shutil.which("haproxy") or "haproxy", "-db", "-f", str(config)])
    from zerospof.lab.controlplane import layout as cp
    from zerospof.lab.gitops import reconciler

    for zone in t.ZONES:
        api_servers = cp.api_lb_urls(zone.name)
        add(f"app-{zone.name}", "app", zone, [
            *python, "-m", "zerospof.lab.app", f"--zone={zone.name}",
            f"--listen={zone.address}:{t.APP_PORT}", f"--db-hosts={','.join(_lb_hosts_for(zone))}",
            f"--db-write-port={t.DB_WRITE_PORT}", f"--db-read-port={t.DB_READ_PORT}", f"--db-check-port={t.LB_PORT}",
            "--secrets=" + ",".join(f"{region}={url}" for region, url in t.security_endpoints(zone.region)),
            f"--kubeconfig={cp.client_kubeconfig(state_dir, 'app')}", f"--kube-servers={','.join(api_servers)}",
            f"--revision-configmap={cp.APP_NAMESPACE}/{reconciler.CONFIGMAP}",
        ], env=python_env)
    for region, where in t.SECURITY_ZONES.items():  # moto is imported in these two only (in main), not preloaded
        add(f"sec-{region}", "security", t.place(where), [
            *python, "-m", "zerospof.lab.security", f"--region={region}",
            f"--listen={t.place(where).address}:{t.SECURITY_PORT}"], env=python_env)
    interpreter, extra_env = postgres_python()
    for zone in t.PG_ZONES:
        config = _patroni(state_dir, zone)
        add(f"pg-{zone}", "pg", t.place(zone), [*interpreter, "-m", "patroni", str(config)],
            user="postgres", env={**extra_env, "PYTHONDONTWRITEBYTECODE": "1"})
    spec.update(_control_plane_and_gitops(state_dir))
    preload = os.environ.get("ZEROSPOF_LAB_PRELOAD", "1") != "0"  # 0: exec them too (a baseline, or to debug)
    for component in spec.values() if preload else ():  # the lab's own daemons: forked, see zerospof.lab.supervisor
        argv = component["argv"]
        if argv[:len(python)] == python and argv[len(python):len(python) + 1] == ["-m"]:
            component["preload"] = argv[len(python) + 1]
    if sorted(spec) != sorted(component_names()):  # health checks and status walk component_names()
        raise ValueError(f"the spec and component_names() disagree: {sorted(set(spec) ^ set(component_names()))}")
    (state_dir / "spec.json").write_text(json.dumps({"components": spec}, indent=2))
    return spec
