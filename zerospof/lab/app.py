"""The lab's app replica: a tiny stdlib HTTP service that reports its zone and uses PostgreSQL.

Run as ``python -m zerospof.lab.app --zone r1-a --listen 10.77.1.1:8000 --db-hosts H1,H2``.

- ``GET /health``: 200 ``{"zone", "region", "revision", "security"}`` (no database: the LB checks the process
  itself; ``security``: which region's key/secret service last gave the credential, and when)
- ``GET /read``: 200 ``{"zone", "revision", "db_time"}`` from any running database member (read port)
- ``GET /read?key=K``: 200 ``{"zone", "revision", "key", "value", "id"}``, 404 when the key is absent
- ``POST /write`` with JSON ``{"key", "value"}``: inserts through the write port (Patroni's primary),
  200 ``{"zone", "id", "key"}``
- ``PUT /admin/db-routing`` with JSON ``{"mode": "health-checked"|"static"}``: how the replica
  picks a database LB node (see :class:`DbRouting`; ``static`` re-creates a flaw for tests)
- ``PUT /admin/key-services`` with JSON ``{"mode": "with-replica"|"own-region-only"}``: whether the
  credential falls back to the other region's key/secret service (``own-region-only`` re-creates a flaw)
- ``GET /revision``: 200 ``{"zone", "revision", "commit", "applied_by", "applied_at"}``: the deployed
  revision (what GitOps applied; ``applied_at`` in epoch seconds)

The revision comes from the Kubernetes ConfigMap ``zerospof-lab/app-revision`` that the leading GitOps reconciler
applies (:class:`RevisionSource`, with ``--kubeconfig`` and ``--kube-servers``): the replica reads it every 0.5 s
through the API load balancer and serves what it says, as a pod serves its mounted configuration. While the API
does not answer it keeps serving the last revision it read (workloads keep running without their control plane);
a restarted replica serves ``--revision`` (default ``none``) until its first read.

Every database call opens a fresh libpq connection (see :mod:`zerospof.lab.libpq`) through one of the
region's HAProxy DB ports, the first that answers a quick check (:class:`DbNodes`: a node in a lost zone
is skipped once its check failed, so users never wait on it), with short connect, keepalive and
``tcp_user_timeout`` limits, so a blackholed database fails fast instead of hanging.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlparse

from zerospof.lab import libpq
from zerospof.lab.http_lite import Handler, JsonServer
from zerospof.lab.security import Credential

__all__ = ["TABLE_DDL", "App", "RevisionSource", "main", "make_handler"]

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS zs_kv ("
    " id bigserial PRIMARY KEY, key text NOT NULL, value text, zone text,"
    " created_at timestamptz NOT NULL DEFAULT now())"
)


MAX_REVISION_CHARS = 128


KEY_SERVICE_MODES = {"with-replica": True, "own-region-only": False}  # /admin/key-services mode -> use_replica


class DbRouting(StrEnum):
    """How a replica picks the database LB node of a request."""

    HEALTH_CHECKED = "health-checked"  # skip a node that failed a check; re-check it in the background
    STATIC = "static"  # hand libpq every node in a fixed order (a lost node costs libpq's 2 s connect timeout)


class DbNodes:
    """The region's database LB nodes in preference order, each checked before use.

    A request takes the first node not ejected whose TCP check (``check_timeout_s``) answers; a
    node that fails the check is ejected, so later requests never wait on it, and one background
    thread re-checks ejected nodes every ``recheck_s`` and readmits those that answer (it exits
    when none is left ejected). libpq's own connect timeout cannot go below 2 s, which is why the
    check comes first. The check dials the node's HTTP frontend port (no backend is opened).
    """

    def __init__(self, hosts: list[str], check_port: int, check_timeout_s: float = 0.15, recheck_s: float = 0.25):
        self.hosts = list(hosts)
        self.check_port = check_port
        self.check_timeout_s = check_timeout_s
        self.recheck_s = recheck_s
        self._ejected: set[str] = set()
        self._lock = threading.Lock()
        self._rechecker: threading.Thread | None = None

    def answers(self, host: str) -> bool:
        try:
            socket.create_connection((host, self.check_port), timeout=self.check_timeout_s).close()
        except OSError:
            return False
        return True

    def answering(self) -> Iterator[str]:
        """The nodes that answer their check, in preference order (not-ejected first), ejecting those that do not."""
        with self._lock:
            order = [h for h in self.hosts if h not in self._ejected] + [h for h in self.hosts if h in self._ejected]
        for host in order:
            if self.answers(host):
                with self._lock:
                    self._ejected.discard(host)
                yield host
            else:
                self._eject(host)

    def _eject(self, host: str) -> None:
        with self._lock:
            self._ejected.add(host)
            if self._rechecker is None or not self._rechecker.is_alive():
                self._rechecker = threading.Thread(target=self._recheck, name="db-recheck", daemon=True)
                self._rechecker.start()

    def _recheck(self) -> None:
        while True:
            time.sleep(self.recheck_s)
            with self._lock:
                ejected = list(self._ejected)
            if not ejected:
                return
            for host in ejected:
                if self.answers(host):
                    with self._lock:
                        self._ejected.discard(host)


class App:
    def __init__(self, zone: str, db_hosts: list[str], write_port: int, read_port: int,
                 revision: str = "none", check_port: int = 8080,
                 secrets: list[tuple[str, str]] | None = None) -> None:
        self.zone = zone
        self.region = zone.split("-")[0]
        self.db_hosts = db_hosts
        self.write_port = write_port
        self.read_port = read_port
        self.db_nodes = DbNodes(db_hosts, check_port)
        self.db_routing = DbRouting.HEALTH_CHECKED
        self.credential = Credential(secrets) if secrets else None  # None: no security layer (unit tests)
        self._lock = threading.Lock()
        self._deployed: dict[str, Any] = {"revision": revision, "commit": None, "applied_by": None, "applied_at": None}

    def deployed(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._deployed)

    def deploy(self, body: Any) -> dict[str, Any]:
        """Deploy the revision ``body`` asks for; ValueError when the body is invalid."""
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        revision = body.get("revision")
        if not isinstance(revision, str) or not 0 < len(revision) <= MAX_REVISION_CHARS:
            raise ValueError(f"revision must be a string of 1-{MAX_REVISION_CHARS} characters")
        commit, applied_by = body.get("commit"), body.get("applied_by")
        for name, value in (("commit", commit), ("applied_by", applied_by)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
        with self._lock:
            self._deployed = {"revision": revision, "commit": commit, "applied_by": applied_by,
                              "applied_at": time.time()}
            return dict(self._deployed)

    def connect(self, port: int) -> libpq.Connection:
        """A connection through a database LB node of the region (see :class:`DbNodes` and :class:`DbRouting`),
        as the user the security layer's credential names (PQError while the app has no valid credential)."""
        user = "postgres"
        if self.credential is not None:
            user = self.credential.value() or ""
            if not user:
                raise libpq.PQError(f"no database credential: {self.credential.state()['errors']}")
        if self.db_routing is DbRouting.STATIC:
            return _connect(self.db_hosts, port, user)
        errors = []
        for host in self.db_nodes.answering():  # a node that answers but has no database behind it yet
            try:                                # (e.g. its zone just came back): the next node
                return _connect([host], port, user)
            except libpq.PQError as exc:
                errors.append(f"{host}: {exc}")
        raise libpq.PQError(f"no database LB node could connect: {'; '.join(errors) or ', '.join(self.db_hosts)}")


def _connect(hosts: list[str], port: int, user: str = "postgres") -> libpq.Connection:
    return libpq.connect(
        f"host={','.join(hosts)} port={','.join([str(port)] * len(hosts))} "
        f"dbname=postgres user={user} connect_timeout=2 keepalives=1 keepalives_idle=1 "
        "keepalives_interval=1 keepalives_count=2 tcp_user_timeout=3000 "
        "options='-c statement_timeout=3000'"
    )


class RevisionSource:
    """Keep ``app`` serving the revision of the ConfigMap ``namespace/name`` (data ``revision``, ``commit``,
    ``applied_by``), read through ``api`` every ``interval_s`` from a daemon thread; :meth:`read_once` is one
    round. An unreachable API or a missing or invalid ConfigMap changes nothing."""

    def __init__(self, app: App, api: Any, namespace: str, name: str, interval_s: float = 0.5) -> None:
        self.app, self.api, self.interval_s = app, api, interval_s
        self.path = f"/api/v1/namespaces/{namespace}/configmaps/{name}"
        self._seen: str | None = None  # resourceVersion last applied
        self.last_error: str | None = None

    def read_once(self) -> bool:
        """Read the ConfigMap once and deploy its revision when it changed; return whether it was read."""
        from zerospof.lab.kube.api import KubeUnavailable

        try:
            status, found = self.api.call("GET", self.path, timeout_s=1.0)
        except KubeUnavailable as exc:
            self.last_error = str(exc)[:200]
            return False
        if status != 200 or not isinstance(found, dict):
            self.last_error = f"HTTP {status}"
            return False
        version = (found.get("metadata") or {}).get("resourceVersion")
        if version != self._seen:
            data = found.get("data") or {}
            try:
                self.app.deploy({key: data.get(key) for key in ("revision", "commit", "applied_by")})
            except ValueError as exc:
                self.last_error = f"invalid ConfigMap: {exc}"
                return False
            self._seen = version
        self.last_error = None
        return True

    def start(self) -> threading.Thread:
        def loop() -> None:
            while True:  # a daemon thread: lives as long as the replica
                self.read_once()
                time.sleep(self.interval_s)
        thread = threading.Thread(target=loop, name="revision-source", daemon=True)
        thread.start()
        return thread


def make_handler(app: App) -> Handler:
    """Return the request handler of the replica ``app`` (see module doc); every answer carries ``zone``."""
    def read(query: str, revision: str) -> tuple[int, dict[str, Any]]:
        key = parse_qs(query).get("key", [None])[0]
        try:
            with app.connect(app.read_port) as conn:
                if key is None:
                    rows = conn.execute("SELECT now()::text")
                    return 200, {"revision": revision, "db_time": rows[0][0] if rows else None}
                rows = conn.execute("SELECT id, value FROM zs_kv WHERE key = $1 ORDER BY id DESC LIMIT 1", (key,))
        except libpq.PQError as exc:
            return 503, {"error": f"{type(exc).__name__}: {exc}"[:300]}
        if not rows:
            return 404, {"revision": revision, "key": key}
        return 200, {"revision": revision, "key": key, "id": int(rows[0][0] or 0), "value": rows[0][1]}

    def write(raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(raw or b"{}")
            key, value = str(body["key"]), body.get("value")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return 400, {"error": f"bad request: {exc}"}
        try:
            with app.connect(app.write_port) as conn:
                rows = conn.execute("INSERT INTO zs_kv (key, value, zone) VALUES ($1, $2, $3) RETURNING id",
                                    (key, None if value is None else str(value), app.zone))
        except libpq.PQError as exc:
            return 503, {"error": f"{type(exc).__name__}: {exc}"[:300]}
        return 200, {"key": key, "id": int(rows[0][0]) if rows and rows[0][0] else None}

    def set_db_routing(raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            app.db_routing = DbRouting(json.loads(raw or b"{}").get("mode"))
        except (ValueError, AttributeError) as exc:
            return 400, {"error": f"bad request: mode must be one of {[m.value for m in DbRouting]}: {exc}"}
        return 200, {"db_routing": app.db_routing.value}

    def set_key_services(raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            mode = json.loads(raw or b"{}").get("mode")
        except (ValueError, AttributeError) as exc:
            return 400, {"error": f"bad request: {exc}"}
        if mode not in KEY_SERVICE_MODES or app.credential is None:
            return 400, {"error": f"bad request: mode must be one of {list(KEY_SERVICE_MODES)} (and the app "
                                  "must have a security layer)"}
        app.credential.use_replica = KEY_SERVICE_MODES[mode]
        return 200, {"key_services": mode}

    def route(method: str, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        url = urlparse(target)
        if method == "PUT" and url.path == "/admin/db-routing":
            return set_db_routing(body)
        if method == "PUT" and url.path == "/admin/key-services":
            return set_key_services(body)
        revision = app.deployed()["revision"]
        if method in ("GET", "HEAD") and url.path == "/health":
            security = app.credential.state() if app.credential is not None else None
            return 200, {"region": app.region, "revision": revision, "security": security}
        if method in ("GET", "HEAD") and url.path == "/revision":
            return 200, app.deployed()
        if method in ("GET", "HEAD") and url.path == "/read":
            return read(url.query, revision)
        if method == "POST" and url.path == "/write":
            return write(body)
        return 404, {"error": "not found"}

    def handle(method: str, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        status, reply = route(method, target, body)
        return status, {"zone": app.zone, **reply}

    return handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zerospof.lab.app")
    parser.add_argument("--zone", required=True)
    parser.add_argument("--listen", required=True, help="ADDRESS:PORT")
    parser.add_argument("--db-hosts", required=True, help="comma-separated DB load balancer addresses")
    parser.add_argument("--db-write-port", type=int, default=5000)
    parser.add_argument("--db-read-port", type=int, default=5001)
    parser.add_argument("--revision", default="none", help="revision served until GitOps applies one")
    parser.add_argument("--db-check-port", type=int, default=8080, help="port a DB LB node's check dials")
    parser.add_argument("--secrets", default="", help="REGION=URL,... key/secret services, own region first")
    parser.add_argument("--kubeconfig", default=None, help="the app's kubeconfig (no revision source without it)")
    parser.add_argument("--kube-servers", default="", help="comma-separated API URLs, tried in turn")
    parser.add_argument("--revision-configmap", default="zerospof-lab/app-revision", help="NAMESPACE/NAME")
    args = parser.parse_args(argv)
    address, _, port = args.listen.rpartition(":")
    secrets = [tuple(item.split("=", 1)) for item in args.secrets.split(",") if item]
    app = App(args.zone, args.db_hosts.split(","), args.db_write_port, args.db_read_port, args.revision,
              args.db_check_port, secrets)
    if args.kubeconfig:
        from pathlib import Path

        from zerospof.lab.kube.api import KubeApi

        namespace, _, name = args.revision_configmap.partition("/")
        api = KubeApi.from_kubeconfig(Path(args.kubeconfig), timeout_s=1.0,
                                      servers=[url for url in args.kube_servers.split(",") if url] or None)
        RevisionSource(app, api, namespace, name).start()
    server = JsonServer((address, int(port)), make_handler(app), "zerospof-lab-app")
    print(f"app {args.zone} listening on {args.listen}", flush=True)
    server.serve_forever(poll_interval=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
