"""The control plane's API replica: a tiny HTTP API that stores objects in etcd.

Run as ``python -m zerospof.lab.controlplane.api_server --listen ADDR:PORT --etcd URL[,URL...]
--name NAME``. Objects live at ``/zerospof/objects/<kind>/<id>`` as JSON.

- ``POST /objects/<kind>`` with a JSON object: 201 ``{"id", "kind", "created_at", "created_by", **body}``
- ``GET /objects/<kind>``: 200 ``{"items": [...]}`` (creation order)
- ``GET /objects/<kind>/<id>``: 200 the object, 404 when absent
- ``GET /health``: 200 ``{"name", "etcd"}`` only when etcd answers a linearizable read, else 503

Each request fails over between the etcd endpoints (see :class:`EtcdClient`). A 503 means etcd
did not confirm the request; a write that timed out may still have been committed (as with any
etcd client), so a retried POST can create a second object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from typing import Any

from zerospof.lab.controlplane.etcd_http import EtcdClient, EtcdUnavailable
from zerospof.lab.http_lite import Handler, JsonServer

__all__ = ["OBJECTS_PREFIX", "main", "make_handler", "object_key"]

OBJECTS_PREFIX = "/zerospof/objects/"
HEALTH_KEY = "/zerospof/health"
_KIND = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_ID = re.compile(r"^[0-9a-z-]{1,64}$")


def object_key(kind: str, object_id: str) -> str:
    return f"{OBJECTS_PREFIX}{kind}/{object_id}"


def _route(target: str) -> tuple[str, str | None] | None:
    parts = target.split("?", 1)[0].strip("/").split("/")
    if len(parts) in (2, 3) and parts[0] == "objects" and _KIND.match(parts[1]):
        object_id = parts[2] if len(parts) == 3 else None
        if object_id is None or _ID.match(object_id):
            return parts[1], object_id
    return None


def make_handler(name: str, etcd: EtcdClient, health_timeout_s: float) -> Handler:
    """Return the request handler of the API replica ``name`` (see module doc)."""
    def unavailable(exc: EtcdUnavailable) -> tuple[int, Any]:
        return 503, {"name": name, "error": str(exc)[:300]}

    def get(target: str) -> tuple[int, Any]:
        if target.split("?", 1)[0] == "/health":
            try:
                etcd.get(HEALTH_KEY, timeout_s=health_timeout_s)
            except EtcdUnavailable as exc:
                return unavailable(exc)
            return 200, {"name": name, "etcd": etcd.last_endpoint}
        route = _route(target)
        if route is None:
            return 404, {"name": name, "error": "not found"}
        kind, object_id = route
        try:
            if object_id is None:
                return 200, {"name": name, "items": [json.loads(kv.value)
                                                     for kv in etcd.get_prefix(f"{OBJECTS_PREFIX}{kind}/")]}
            found = etcd.get(object_key(kind, object_id))
        except EtcdUnavailable as exc:
            return unavailable(exc)
        if found is None:
            return 404, {"name": name, "error": f"no {kind}/{object_id}"}
        return 200, json.loads(found.value)

    def post(target: str, raw: bytes) -> tuple[int, Any]:
        route = _route(target)
        if route is None or route[1] is not None:
            return 404, {"name": name, "error": "not found"}
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            return 400, {"name": name, "error": f"bad request: {exc}"}
        object_id = f"{time.time_ns() // 1_000_000:013d}-{os.urandom(4).hex()}"
        item = {**body, "id": object_id, "kind": route[0], "created_at": time.time(), "created_by": name}
        try:
            etcd.put(object_key(route[0], object_id), json.dumps(item))
        except EtcdUnavailable as exc:
            return unavailable(exc)
        return 201, item

    def handle(method: str, target: str, body: bytes) -> tuple[int, Any]:
        if method in ("GET", "HEAD"):
            return get(target)
        if method == "POST":
            return post(target, body)
        return 405, {"name": name, "error": f"method {method} not allowed"}

    return handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zerospof.lab.controlplane.api_server")
    parser.add_argument("--listen", required=True, help="ADDRESS:PORT")
    parser.add_argument("--etcd", required=True, help="comma-separated etcd client URLs")
    parser.add_argument("--name", required=True)
    parser.add_argument("--etcd-timeout", type=float, default=1.0, help="seconds per etcd attempt")
    parser.add_argument("--health-timeout", type=float, default=0.3, help="seconds per etcd attempt in /health")
    args = parser.parse_args(argv)
    address, _, port = args.listen.rpartition(":")
    etcd = EtcdClient(args.etcd.split(","), timeout_s=args.etcd_timeout)
    server = JsonServer((address, int(port)), make_handler(args.name, etcd, args.health_timeout), "zerospof-lab-api")
    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    print(f"api {args.name} listening on {args.listen}, etcd {args.etcd}", flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
