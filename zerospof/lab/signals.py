"""Detection-signal readers for monitors: each returns a plain dict and never raises on I/O errors.

All of them read from the host (the host has the lab address ``10.77.0.1`` on the bridge; HAProxy
stats sockets are files in the state dir). Timeouts are short so a partitioned target costs at
most ``timeout_s`` per call.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

from zerospof.lab import topology as t
from zerospof.lab.configs import haproxy_socket

__all__ = ["dns_answers", "haproxy_servers", "patroni_cluster", "patroni_leader", "replication_lag"]


def _haproxy_command(path: Path, command: str, timeout_s: float) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout_s)
        connection.connect(str(path))
        connection.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode()


def haproxy_servers(state_dir: str | Path, timeout_s: float = 0.5) -> dict[str, Any]:
    """Return ``{lb: {"ok": bool, "servers": {"backend/server": "UP"|"DOWN"|...}, "error"?}}``."""
    result: dict[str, Any] = {}
    for zones in t.LB_ZONES.values():
        for zone in zones:
            name = f"lb-{zone}"
            try:
                text = _haproxy_command(haproxy_socket(Path(state_dir), zone), "show stat", timeout_s)
                rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
                servers = {
                    f"{row['pxname']}/{row['svname']}": row["status"].split()[0]
                    for row in rows if row.get("svname") not in ("FRONTEND", "BACKEND", None)
                }
                result[name] = {"ok": True, "servers": servers}
            except OSError as exc:
                result[name] = {"ok": False, "servers": {}, "error": f"{type(exc).__name__}: {exc}"}
    return result


def _dns_query(server: t.Place, name: str, timeout_s: float) -> dict[str, Any]:
    query = dns.message.make_query(name, dns.rdatatype.A)
    try:
        response = dns.query.udp(query, server.address, timeout=timeout_s)
    except (dns.exception.DNSException, OSError) as exc:
        return {"ok": False, "addresses": [], "error": f"{type(exc).__name__}: {exc}"}
    addresses = sorted(item.address for rrset in response.answer for item in rrset if hasattr(item, "address"))
    regions = sorted({z.region for z in t.ZONES for a in addresses if z.address == a and z.region})
    return {"ok": True, "addresses": addresses, "regions": regions, "rcode": int(response.rcode())}


def dns_answers(name: str = t.APP_NAME, timeout_s: float = 0.5) -> dict[str, Any]:
    """Ask each lab DNS server for ``name``: ``{"dns1": {"ok", "addresses", "regions"}, ...}``."""
    with ThreadPoolExecutor(len(t.DNS_SERVERS)) as pool:
        answers = pool.map(lambda server: _dns_query(server, name, timeout_s), t.DNS_SERVERS)
        return dict(zip([server.name for server in t.DNS_SERVERS], answers))


def _get_json(url: str, timeout_s: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.load(response)


def patroni_cluster(timeout_s: float = 0.5) -> dict[str, Any]:
    """Return Patroni's ``/cluster`` view from the first member that answers, plus who answered."""
    members = [t.place(zone) for zone in t.PG_ZONES]
    def ask(member: t.Place) -> Any:
        try:
            return _get_json(f"http://{member.address}:{t.PATRONI_PORT}/cluster", timeout_s)
        except (OSError, ValueError, urllib.error.URLError):
            return None
    with ThreadPoolExecutor(len(members)) as pool:
        views = list(pool.map(ask, members))
    for member, view in zip(members, views):
        if view is not None:
            return {"ok": True, "asked": f"pg-{member.name}", "members": view.get("members", [])}
    return {"ok": False, "members": [], "error": "no Patroni member answered"}


def patroni_leader(timeout_s: float = 0.5) -> dict[str, Any]:
    """Return ``{"ok", "leader": "pg-r1-a"|None, "region", "timeline", "members": {name: state}}``."""
    view = patroni_cluster(timeout_s)
    leader = next((m for m in view["members"] if m.get("role") == "leader"), None)
    region = None
    if leader is not None:
        region = leader["name"].split("-")[1]
    return {
        "ok": view["ok"],
        "leader": None if leader is None else leader["name"],
        "region": region,
        "timeline": None if leader is None else leader.get("timeline"),
        "members": {m["name"]: {"role": m.get("role"), "state": m.get("state")} for m in view["members"]},
        **({"error": view["error"]} if "error" in view else {}),
    }


def replication_lag(timeout_s: float = 0.5) -> dict[str, Any]:
    """Return ``{"ok", "lag_bytes": {replica: bytes | None}}`` as Patroni reports it."""
    view = patroni_cluster(timeout_s)
    lags: dict[str, int | None] = {}
    for member in view["members"]:
        if member.get("role") != "leader":
            lag = member.get("lag")
            lags[member["name"]] = lag if isinstance(lag, int) else None
    return {"ok": view["ok"], "lag_bytes": lags}
