"""Judge whether each lab component is healthy right now (one pass, bounded by short timeouts)."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from zerospof.lab import client, signals
from zerospof.lab import topology as t
from zerospof.lab.configs import component_names

__all__ = ["check"]


def _http_ok(url: str, timeout_s: float) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status == 200, response.read(200).decode(errors="replace")
    except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy", with the reason shown
        return False, f"{type(exc).__name__}: {exc}"


def _etcd(where: str, timeout_s: float) -> tuple[bool, str]:
    ok, text = _http_ok(f"http://{t.place(where).address}:{t.ETCD_CLIENT_PORT}/health", timeout_s)
    return ok and '"true"' in text, text


def _app(zone: str, timeout_s: float) -> tuple[bool, str]:
    return _http_ok(f"http://{t.place(zone).address}:{t.APP_PORT}/health", timeout_s)


def _lb(view: dict[str, Any]) -> tuple[bool, str]:
    if not view.get("ok"):
        return False, view.get("error", "stats socket unreachable")
    servers = view["servers"]
    down = [name for name, state in servers.items() if name.startswith("app/") and state != "UP"]
    writers = [name for name, state in servers.items() if name.startswith("pg_write/") and state == "UP"]
    if down:
        return False, f"app servers not UP: {down}"
    if len(writers) != 1:
        return False, f"pg_write has {len(writers)} UP servers (want 1)"
    return True, "all app servers UP, one writer"


def _dns(answer: dict[str, Any]) -> tuple[bool, str]:
    want = sorted(t.place(z).address for z in t.LB_ZONES[t.REGIONS[0]])
    ok = answer.get("ok") and answer.get("addresses") == want
    return bool(ok), json.dumps(answer)


def _pg(name: str, leader: dict[str, Any]) -> tuple[bool, str]:
    member = leader["members"].get(name)
    if member is None:
        return False, "not in the Patroni cluster" if leader["ok"] else leader.get("error", "")
    if leader["leader"] is None:
        return False, "cluster has no leader"
    healthy = member["state"] in ("running", "streaming") if member["role"] == "leader" else member["state"] == "streaming"
    return healthy, f"{member['role']} {member['state']}"


def check(state_dir: Path, running: dict[str, bool], timeout_s: float = 0.7) -> dict[str, dict[str, Any]]:
    """Return ``{component: {"healthy": bool, "detail": str}}`` plus an ``end-to-end`` entry."""
    with ThreadPoolExecutor(16) as pool:
        etcd = {f"etcd-{p}": pool.submit(_etcd, p, timeout_s) for p in t.ETCD_PLACES}
        apps = {f"app-{z.name}": pool.submit(_app, z.name, timeout_s) for z in t.ZONES}
        lbs = pool.submit(signals.haproxy_servers, state_dir, timeout_s)
        dns_view = pool.submit(signals.dns_answers, t.APP_NAME, timeout_s)
        leader = pool.submit(signals.patroni_leader, timeout_s)
        e2e = pool.submit(_end_to_end)
        results: dict[str, tuple[bool, str]] = {}
        results.update({name: future.result() for name, future in etcd.items()})
        results.update({name: future.result() for name, future in apps.items()})
        results.update({name: _lb(view) for name, view in lbs.result().items()})
        results.update({name: _dns(answer) for name, answer in dns_view.result().items()})
        leader_view = leader.result()
        results.update({f"pg-{z}": _pg(f"pg-{z}", leader_view) for z in t.PG_ZONES})
        results["end-to-end"] = e2e.result()
    report = {}
    for name in component_names() + ["end-to-end"]:
        healthy, detail = results.get(name, (False, "not checked"))
        if name in running and not running[name]:
            healthy, detail = False, "process not running"
        report[name] = {"healthy": healthy, "detail": detail}
    return report


def _end_to_end() -> tuple[bool, str]:
    try:
        response = client.request("GET", "/read", timeout_s=2.0)
    except Exception as exc:  # noqa: BLE001 - reported as unhealthy
        return False, f"{type(exc).__name__}: {exc}"
    return response.ok, f"{response.status} from {response.address} via {response.dns_server}: {response.body}"
