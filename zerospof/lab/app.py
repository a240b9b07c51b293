"""The lab's app replica: a tiny stdlib HTTP service that reports its zone and uses PostgreSQL.

Run as ``python -m zerospof.lab.app --zone r1-a --listen 10.77.1.1:8000 --db-hosts H1,H2``.

- ``GET /health``: 200 ``{"zone", "region"}`` (no database: the LB checks the process itself)
- ``GET /read``: 200 ``{"zone", "db_time"}`` from any running database member (read port)
- ``GET /read?key=K``: 200 ``{"zone", "key", "value", "id"}``, 404 when the key is absent
- ``POST /write`` with JSON ``{"key", "value"}``: inserts through the write port (Patroni's primary),
  200 ``{"zone", "id", "key"}``

Every database call opens a fresh libpq connection (see :mod:`zerospof.lab.libpq`) through the region's HAProxy DB ports
(libpq tries each host in turn) with short connect, keepalive and ``tcp_user_timeout`` limits,
so a blackholed database fails fast instead of hanging.
"""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from zerospof.lab import libpq

__all__ = ["TABLE_DDL", "main"]

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS zs_kv ("
    " id bigserial PRIMARY KEY, key text NOT NULL, value text, zone text,"
    " created_at timestamptz NOT NULL DEFAULT now())"
)


class App:
    def __init__(self, zone: str, db_hosts: list[str], write_port: int, read_port: int) -> None:
        self.zone = zone
        self.region = zone.split("-")[0]
        self.db_hosts = db_hosts
        self.write_port = write_port
        self.read_port = read_port

    def connect(self, port: int) -> libpq.Connection:
        return libpq.connect(
            f"host={','.join(self.db_hosts)} port={','.join([str(port)] * len(self.db_hosts))} "
            "dbname=postgres user=postgres connect_timeout=2 keepalives=1 keepalives_idle=1 "
            "keepalives_interval=1 keepalives_count=2 tcp_user_timeout=3000 "
            "options='-c statement_timeout=3000'"
        )


def make_handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "zerospof-lab-app"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps({"zone": app.zone, **body}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            url = urlparse(self.path)
            if url.path == "/health":
                self._reply(200, {"region": app.region})
            elif url.path == "/read":
                key = parse_qs(url.query).get("key", [None])[0]
                try:
                    with app.connect(app.read_port) as conn:
                        if key is None:
                            rows = conn.execute("SELECT now()::text")
                            self._reply(200, {"db_time": rows[0][0] if rows else None})
                            return
                        rows = conn.execute(
                            "SELECT id, value FROM zs_kv WHERE key = $1 ORDER BY id DESC LIMIT 1", (key,)
                        )
                except libpq.PQError as exc:
                    self._reply(503, {"error": f"{type(exc).__name__}: {exc}"[:300]})
                    return
                if not rows:
                    self._reply(404, {"key": key})
                else:
                    self._reply(200, {"key": key, "id": int(rows[0][0] or 0), "value": rows[0][1]})
            else:
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            if urlparse(self.path).path != "/write":
                self._reply(404, {"error": "not found"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                key, value = str(body["key"]), body.get("value")
            except (ValueError, KeyError) as exc:
                self._reply(400, {"error": f"bad request: {exc}"})
                return
            try:
                with app.connect(app.write_port) as conn:
                    rows = conn.execute(
                        "INSERT INTO zs_kv (key, value, zone) VALUES ($1, $2, $3) RETURNING id",
                        (key, None if value is None else str(value), app.zone),
                    )
            except libpq.PQError as exc:
                self._reply(503, {"error": f"{type(exc).__name__}: {exc}"[:300]})
                return
            self._reply(200, {"key": key, "id": int(rows[0][0]) if rows and rows[0][0] else None})

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zerospof.lab.app")
    parser.add_argument("--zone", required=True)
    parser.add_argument("--listen", required=True, help="ADDRESS:PORT")
    parser.add_argument("--db-hosts", required=True, help="comma-separated DB load balancer addresses")
    parser.add_argument("--db-write-port", type=int, default=5000)
    parser.add_argument("--db-read-port", type=int, default=5001)
    args = parser.parse_args(argv)
    address, _, port = args.listen.rpartition(":")
    app = App(args.zone, args.db_hosts.split(","), args.db_write_port, args.db_read_port)
    server = ThreadingHTTPServer((address, int(port)), make_handler(app))
    server.daemon_threads = True
    print(f"app {args.zone} listening on {args.listen}", flush=True)
    server.serve_forever(poll_interval=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
