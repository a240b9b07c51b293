"""Judge whether each lab component is healthy right now (one pass, bounded by short timeouts).

Besides one entry per component, three entries judge a path or a whole layer:
``end-to-end`` (a user read through DNS + LB), ``control-plane`` (etcd has a leader and a quorum,
the API is ready through both API LB nodes, a kube-scheduler and a kube-controller-manager hold their Leases,
every replica of the app Deployment is available) and ``gitops`` (a
reconciler holds the lease and every app replica serves the revision of ``main`` on the git host
that reconciler reads).
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from zerospof.lab import client, configs, signals
from zerospof.lab import topology as t
from zerospof.lab.configs import component_names
from zerospof.lab.controlplane import layout as cp
from zerospof.lab.controlplane.probes import admin_api, workloads
from zerospof.lab.controlplane.signals import etcd_leader, kube_lease
from zerospof.lab.kube.api import KubeApi, KubeUnavailable
from zerospof.lab.gitops import layout as gitops
from zerospof.lab.gitops.repo import BRANCH, DESIRED_FILE, GitError, git, ls_remote, parse_desired
from zerospof.lab.gitops.signals import mirror_lag, reconciler_holder

__all__ = ["AGGREGATES", "api_server_ready", "check", "desired_revision", "git_heads"]

AGGREGATES = ("end-to-end", "control-plane", "gitops")
MIRROR_MAX_AGE_S = 3.0  # the sync loop runs every 0.5 s; older than this, it is stuck
_revisions: dict[str, str] = {}  # commit -> revision of app.yaml (a commit never changes)


def _http_ok(url: str, timeout_s: float, context: ssl.SSLContext | None = None) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s, context=context) as response:
            return response.status == 200, response.read(1000).decode(errors="replace")
    except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy", with the reason shown
        return False, f"{type(exc).__name__}: {exc}"


def _api_tls(state_dir: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cp.pki_dir(state_dir) / "ca.crt"))


def _api_server(state_dir: Path, zone: str, timeout_s: float, tls: ssl.SSLContext | None = None) -> tuple[bool, str]:
    return _http_ok(f"https://{t.place(zone).address}:{cp.API_PORT}/readyz", timeout_s, tls or _api_tls(state_dir))


def api_server_ready(state_dir: Path, zone: str, timeout_s: float = 0.7) -> bool:
    """Return whether the kube-apiserver of ``zone`` answers ``/readyz`` (every post-start hook done)."""
    return _api_server(Path(state_dir), zone, timeout_s)[0]


def _etcd(where: str, timeout_s: float, port: int = t.ETCD_CLIENT_PORT) -> tuple[bool, str]:
    ok, text = _http_ok(f"http://{t.place(where).address}:{port}/health", timeout_s)
    return ok and '"true"' in text, text


def _app(zone: str, timeout_s: float) -> tuple[bool, str]:
    return _http_ok(f"http://{t.place(zone).address}:{t.APP_PORT}/health", timeout_s)


def _revision_of(detail: str) -> str | None:
    try:
        body = json.loads(detail)
    except ValueError:
        return None
    return body.get("revision") if isinstance(body, dict) else None


def git_heads(timeout_s: float = 1.0) -> dict[str, str | None]:
    """Return ``{"primary": commit of main | None, "mirror": ...}`` (None: the host did not answer)."""
    def head(host: str) -> str | None:
        try:
            return ls_remote(gitops.git_url(host), timeout_s).get(f"refs/heads/{BRANCH}")
        except GitError:
            return None
    with ThreadPoolExecutor(len(gitops.GIT_PLACES)) as pool:
        return dict(zip(gitops.GIT_PLACES, pool.map(head, gitops.GIT_PLACES)))


def desired_revision(state_dir: Path, host: str, commit: str, timeout_s: float = 1.0) -> str | None:
    """Return the revision ``app.yaml`` asks for at ``commit`` (fetched from ``host`` once), None on failure."""
    if commit in _revisions:
        return _revisions[commit]
    cache = Path(state_dir) / "run" / "health-git-cache.git"
    try:
        if not (cache / "HEAD").exists():
            git("init", "--bare", "--quiet", str(cache))
        git("fetch", "--quiet", "--no-tags", "--no-auto-gc", gitops.git_url(host),
            f"+refs/heads/{BRANCH}:refs/remotes/{host}/{BRANCH}", cwd=cache, timeout_s=timeout_s)
        revision = parse_desired(git("show", f"{commit}:{DESIRED_FILE}", cwd=cache))
    except GitError:
        return None
    _revisions[commit] = revision
    return revision


def _holder_detail(name: str, holder: dict[str, Any]) -> tuple[bool, str]:
    if not holder["ok"]:
        return False, f"lease unreadable: {holder.get('error')}"
    if holder["holder"] is None:
        return False, f"nobody holds the Lease {holder['lease']}"
    return True, "leader" if holder["holder"] == name else f"standby (leader: {holder['holder']})"


def _git_host(head: str | None) -> tuple[bool, str]:
    return (True, f"main at {head[:12]}") if head else (False, "does not advertise main (git ls-remote)")


def _mirror_sync(state_dir: Path, heads: dict[str, str | None]) -> tuple[bool, str]:
    lag = mirror_lag(gitops.mirror_status_path(state_dir))
    if not lag["ok"]:
        return False, lag.get("error") or "no status"
    if not lag["sync_ok"]:
        return False, f"last sync failed: {lag.get('error')}"
    if lag["age_s"] is None or lag["age_s"] > MIRROR_MAX_AGE_S:
        return False, f"last successful sync {lag['age_s']}s ago"
    if heads["primary"] is not None and heads["primary"] != lag["synced_commit"]:
        return False, f"behind: primary main {heads['primary'][:12]}, mirror synced {str(lag['synced_commit'])[:12]}"
    return True, f"in sync at {str(lag['synced_commit'])[:12]}, {lag['age_s']}s ago"


def _kube_holder(name: str, lease: dict[str, Any]) -> tuple[bool, str]:
    if not lease["ok"]:
        return False, f"Lease {lease['lease']} unreadable: {lease.get('error')}"
    if not lease["held"]:
        return False, f"nobody holds the Lease {lease['lease']}"
    return True, "leader" if lease["component"] == name else f"standby (leader: {lease['component']})"


def _nodes(api: KubeApi) -> dict[str, tuple[bool, str]]:
    """``{kube-node-<zone>: (its Node is Ready, detail)}``."""
    try:
        status, found = api.call("GET", "/api/v1/nodes")
    except KubeUnavailable as exc:
        return {f"kube-node-{z.name}": (False, f"API unavailable: {exc}"[:200]) for z in t.ZONES}
    ready = {}
    for node in (found or {}).get("items", []) if status == 200 else []:
        condition = next((c for c in node.get("status", {}).get("conditions") or [] if c["type"] == "Ready"), {})
        ready[node["metadata"]["name"]] = (condition.get("status") == "True",
                                           f"Node {node['metadata']['name']} Ready={condition.get('status')}")
    return {f"kube-node-{z.name}": ready.get(cp.node_name(z.name), (False, f"no Node {cp.node_name(z.name)}"))
            for z in t.ZONES}


def _control_plane(leader: dict[str, Any], api_via_lb: list[tuple[bool, str]],
                   leases: dict[str, dict[str, Any]], app: dict[str, Any]) -> tuple[bool, str]:
    answering = sum(1 for view in leader["members"].values() if view["ok"])
    problems = []
    if not leader["leader"] or answering < len(cp.CP_ZONES) // 2 + 1:
        problems.append(f"etcd: leader {leader['leader']}, {answering} members answering")
    problems += [f"API via LB: {detail}" for ok, detail in api_via_lb if not ok]
    problems += [f"nobody holds the Lease {name}" for name, lease in leases.items() if not lease["held"]]
    if not app["ok"]:
        problems.append(f"Deployment {cp.APP_DEPLOYMENT}: {app}")
    if problems:
        return False, "; ".join(problems)
    return True, (f"etcd leader {leader['leader']} (term {leader['raft_term']}), API via LB, "
                  + ", ".join(f"{name} {lease['component']}" for name, lease in leases.items())
                  + f", {app['available']}/{app['replicas']} app pods available")


def _gitops(state_dir: Path, holder: dict[str, Any], heads: dict[str, str | None],
            served: dict[str, str | None]) -> tuple[bool, str]:
    if holder["holder"] not in gitops.RECONCILERS:
        return False, f"no reconciler holds the lease ({holder.get('holder') or holder.get('error')})"
    host = gitops.reader_of(holder["holder"])
    commit = heads[host]
    if commit is None:
        return False, f"{holder['holder']} leads but its git host ({host}) does not answer"
    desired = desired_revision(state_dir, host, commit)
    behind = {app: revision for app, revision in served.items() if revision != desired}
    if desired is None or behind:
        return False, f"desired {desired!r} (main of {host}); replicas behind: {behind}"
    return True, f"{holder['holder']} leads; every replica serves {desired!r} ({host} main {commit[:12]})"


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


def _dns(answer: dict[str, Any], want: list[str]) -> tuple[bool, str]:
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
    """Return ``{component: {"healthy": bool, "detail": str}}`` plus the entries of :data:`AGGREGATES`."""
    state_dir = Path(state_dir)
    cp_endpoints = cp.etcd_endpoints()
    with ThreadPoolExecutor(32) as pool:
        etcd = {f"etcd-{p}": pool.submit(_etcd, p, timeout_s) for p in t.ETCD_PLACES}
        cp_etcd = {f"cp-etcd-{z}": pool.submit(_etcd, z, timeout_s, cp.CP_ETCD_CLIENT_PORT) for z in cp.CP_ZONES}
        tls = _api_tls(state_dir)
        cp_api = {f"cp-api-{z}": pool.submit(_api_server, state_dir, z, timeout_s, tls) for z in cp.CP_ZONES}
        api_via_lb = [pool.submit(_http_ok, f"{url}/readyz", timeout_s, tls) for url in cp.api_lb_urls()]
        cp_leader = pool.submit(etcd_leader, cp_endpoints, None, timeout_s)
        kube = admin_api(state_dir, timeout_s)
        leases = {name: pool.submit(kube_lease, kube, name) for name in ("kube-scheduler", "kube-controller-manager")}
        nodes = pool.submit(_nodes, kube)
        app_workload = pool.submit(workloads, state_dir, timeout_s)
        reconciler_lease = pool.submit(reconciler_holder, kube)
        heads = pool.submit(git_heads, max(timeout_s, 1.0))
        apps = {f"app-{z.name}": pool.submit(_app, z.name, timeout_s) for z in t.ZONES}
        lbs = pool.submit(signals.haproxy_servers, state_dir, timeout_s)
        dns_view = pool.submit(signals.dns_answers, t.APP_NAME, timeout_s)
        leader = pool.submit(signals.patroni_leader, timeout_s)
        e2e = pool.submit(_end_to_end)
        security = {f"sec-{region}": pool.submit(_security, region, url, timeout_s)
                    for region, url in t.security_endpoints()}
        results: dict[str, tuple[bool, str]] = {}
        results.update({name: future.result() for name, future in etcd.items()})
        results.update({name: future.result() for name, future in apps.items()})
        results.update({name: _lb(view) for name, view in lbs.result().items()})
        want_dns = configs.dns_expected_addresses(configs.dns_answers(state_dir))
        results.update({name: _dns(answer, want_dns) for name, answer in dns_view.result().items()})
        leader_view = leader.result()
        results.update({f"pg-{z}": _pg(f"pg-{z}", leader_view) for z in t.PG_ZONES})
        results.update({name: future.result() for name, future in cp_etcd.items()})
        results.update({name: future.result() for name, future in cp_api.items()})
        lease_views = {name: future.result() for name, future in leases.items()}
        results.update({name: _kube_holder(name, lease_views["kube-scheduler"])
                        for name in component_names("cp-scheduler")})
        results.update({name: _kube_holder(name, lease_views["kube-controller-manager"])
                        for name in component_names("cp-cm")})
        results.update(nodes.result())
        results["control-plane"] = _control_plane(cp_leader.result(), [f.result() for f in api_via_lb], lease_views,
                                                  app_workload.result())
        head_view = heads.result()
        results["git-primary"] = _git_host(head_view["primary"])
        results["git-mirror"] = _git_host(head_view["mirror"])
        results["git-mirror-sync"] = _mirror_sync(state_dir, head_view)
        reconciler_view = reconciler_lease.result()
        results.update({name: _holder_detail(name, reconciler_view) for name in component_names("gitops")})
        served = {name: _revision_of(results[name][1]) if results[name][0] else None for name in apps}
        results["gitops"] = _gitops(state_dir, reconciler_view, head_view, served)
        results["end-to-end"] = e2e.result()
        results.update({name: future.result() for name, future in security.items()})
    report = {}
    for name in component_names() + list(AGGREGATES):
        healthy, detail = results.get(name, (False, "not checked"))
        if name in running and not running[name]:
            healthy, detail = False, "process not running"
        report[name] = {"healthy": healthy, "detail": detail}
    return report


def _security(region: str, endpoint: str, timeout_s: float) -> tuple[bool, str]:
    """The region's key/secret service decrypts the app's credential (what every app replica needs)."""
    from zerospof.lab.security import decrypt_credential

    try:
        decrypt_credential(endpoint, region)
    except Exception as exc:  # noqa: BLE001 - reported as unhealthy
        return False, f"{type(exc).__name__}: {exc}"[:200]
    return True, f"decrypts the credential at {endpoint}"


def _end_to_end() -> tuple[bool, str]:
    try:
        response = client.request("GET", "/read", timeout_s=2.0)
    except Exception as exc:  # noqa: BLE001 - reported as unhealthy
        return False, f"{type(exc).__name__}: {exc}"
    return response.ok, f"{response.status} from {response.address} via {response.dns_server}: {response.body}"
