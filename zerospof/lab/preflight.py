"""Check, before touching anything, that this machine can run the lab; say what to run if not."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from zerospof.errors import LabError
from zerospof.lab.configs import PG_BIN_DIR, postgres_python

__all__ = ["APT_PACKAGES", "PIP_PACKAGES", "check"]

# binary -> Debian 12 package providing it
_BINARIES = {
    "ip": "iproute2", "tc": "iproute2", "etcd": "etcd-server", "haproxy": "haproxy",
    "pdns_server": "pdns-server",
}
APT_PACKAGES = ("iproute2", "etcd-server", "haproxy", "pdns-server", "pdns-backend-bind", "postgresql-15")
PIP_PACKAGES = ("patroni[etcd3,psycopg3]>=4.1,<4.2", "psycopg[binary]>=3.1", "dnspython>=2.4", "PyYAML>=6")
_BIND_BACKEND = "/usr/lib/x86_64-linux-gnu/pdns/libbindbackend.so"


def check() -> None:
    """Raise LabError naming every missing prerequisite and the command that installs it."""
    problems: list[str] = []
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, veths, running daemons as postgres): "
                       "run it with sudo")
    missing = sorted({package for binary, package in _BINARIES.items() if shutil.which(binary) is None})
    if not os.path.exists(os.path.join(PG_BIN_DIR, "postgres")):
        missing.append("postgresql-15")
    if not any(os.path.exists(p) for p in (_BIND_BACKEND, "/usr/lib/aarch64-linux-gnu/pdns/libbindbackend.so")):
        missing.append("pdns-backend-bind")
    if missing:
        problems.append(f"missing system packages; run: apt-get install -y {' '.join(missing)}")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        problems.append("no 'postgres' user; run: apt-get install -y postgresql-15")
    for module, package in (("psycopg", "psycopg[binary]"), ("dns", "dnspython"), ("yaml", "PyYAML"),
                            ("patroni", "patroni[etcd3,psycopg3]")):
        try:
            __import__(module)
        except ImportError:
            problems.append(f"missing Python package {module}; run: pip install '{package}'")
    if not problems:
        interpreter, env = postgres_python()
        paths = [interpreter[0]] + [p for p in env.get("PYTHONPATH", "").split(":") if p]
        unreadable = [path for path in paths if not _world_readable(path)]
        if unreadable:
            problems.append(
                f"the postgres user cannot read {unreadable} (Patroni runs as postgres with "
                f"{' '.join(interpreter)}); make them world-readable (chmod -R o+rX) or "
                "install patroni for /usr/bin/python3"
            )
    if problems:
        raise LabError("the lab cannot start:\n  - " + "\n  - ".join(problems))


def _world_readable(path: str) -> bool:
    """Return True when any user can traverse to ``path`` and read it (follows symlinks)."""
    real = os.path.realpath(path)
    for parent in [real, *[str(p) for p in Path(real).parents]]:
        mode = os.stat(parent).st_mode
        if parent != real and not mode & 0o001:
            return False
    return bool(os.stat(real).st_mode & 0o004)
