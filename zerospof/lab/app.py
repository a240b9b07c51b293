"""The lab's app replica: a tiny stdlib HTTP service that reports its zone and uses PostgreSQL.

Run as ``python -m zerospof.lab.app --zone r1-a --listen 10.77.1.1:8000 --db-hosts H1,H2``.

- ``GET /health``: 200 ``{"zone", "region", "revision"}`` (no database: the LB checks the process itself)
- ``GET /read``: 200 ``{"zone", "revision", "db_time"}`` from any running database member (read port)
- ``GET /read?key=K``: 200 ``{"zone", "revision", "key", "value", "id"}``, 404 when the key is absent
- ``POST /write`` with JSON ``{"key", "value"}``: inserts through the write port (Patroni's primary),
  200 ``{"zone", "id", "key"}``
- ``GET /revision``: 200 ``{"zone", "revision", "commit", "applied_by", "applied_at"}``: the deployed
  revision (what GitOps applied; ``applied_at`` in epoch seconds)
- ``PUT /revision`` with JSON ``{"revision": 1-128 characters, "commit"?, "applied_by"?}``: deploy it,
  200 the same shape as ``GET``; 400 when the body is invalid

The revision is held in memory: a restarted replica serves ``--revision`` (default ``none``) until a
GitOps reconciler notices the drift and applies the desired revision again.

Every database call opens a fresh libpq connection (see :mod:`zerospof.lab.libpq`) through the region's HAProxy DB ports
(libpq tries each host in turn) with short connect, keepalive and ``tcp_user_timeout`` limits,
so a blackholed database fails fast instead of hanging.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

from zerospof.lab import libpq
from zerospof.lab.http_lite import Handler, JsonServer

__all__ = ["TABLE_DDL", "App", "main", "make_handler"]

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS zs_kv ("
    " id bigserial PRIMARY KEY, key text NOT NULL, value text, zone text,"
    " created_at timestamptz NOT NULL DEFAULT now())"
)


MAX_REVISION_CHARS = 128


class App:
    def __init__(self, zone: str, db_hosts: list[str], write_port: int, read_port: int,
                 revision: str = "none") -> None:
        self.zone = zone
        self.region = zone.split("-")[0]
        self.db_hosts = db_hosts
        self.write_port = write_port
        self.read_port = read_port
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
        return libpq.connect(
            f"host={','.join(self.db_hosts)} port={','.join([str(port)] * len(self.db_hosts))} "
            "dbname=postgres user=postgres connect_timeout=2 keepalives=1 keepalives_idle=1 "
            "keepalives_interval=1 keepalives_count=2 tcp_user_timeout=3000 "
            "options='-c statement_timeout=3000'"
        )


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

    def deploy(raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            return 200, app.deploy(json.loads(raw or b"{}"))
        except ValueError as exc:
            return 400, {"error": f"bad request: {exc}"}

    def route(method: str, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        url = urlparse(target)
        revision = app.deployed()["revision"]
        if method in ("GET", "HEAD") and url.path == "/health":
            return 200, {"region": app.region, "revision": revision}
        if method in ("GET", "HEAD") and url.path == "/revision":
            return 200, app.deployed()
        if method in ("GET", "HEAD") and url.path == "/read":
            return read(url.query, revision)
        if method == "PUT" and url.path == "/revision":
            return deploy(body)
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
    args = parser.parse_args(argv)
    address, _, port = args.listen.rpartition(":")
    app = App(args.zone, args.db_hosts.split(","), args.db_write_port, args.db_read_port, args.revision)
    server = JsonServer((address, int(port)), make_handler(app), "zerospof-lab-app")
    print(f"app {args.zone} listening on {args.listen}", flush=True)
    server.serve_forever(poll_interval=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
