"""A stand-in app replica implementing only the revision contract (the one :mod:`zerospof.lab.app` serves).

Run as ``python -m tests.lab_part2.revision_app --zone NAME --listen ADDR:PORT``.

- ``GET /revision`` -> 200 ``{"zone", "revision", "commit", "applied_by", "applied_at"}``
- ``PUT /revision`` with ``{"revision": str, "commit"?: str, "applied_by"?: str}`` -> 200 the same
  shape after the change; 400 when ``revision`` is missing, empty or longer than 128 characters
- ``GET /health`` and ``GET /read`` also carry ``"revision"``

The revision is held in memory; a restarted replica serves ``--revision`` (default ``none``)
until a reconciler applies the desired one again.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--zone", required=True)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--revision", default="none")
    args = parser.parse_args(argv)
    lock = threading.Lock()
    state: dict[str, Any] = {"revision": args.revision, "commit": None, "applied_by": None, "applied_at": None}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *a: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps({"zone": args.zone, **body}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            with lock:
                current = dict(state)
            if self.path == "/revision":
                self._reply(200, current)
            elif self.path in ("/health", "/read"):
                self._reply(200, {"revision": current["revision"]})
            else:
                self._reply(404, {"error": "not found"})

        def do_PUT(self) -> None:  # noqa: N802 - stdlib naming
            if self.path != "/revision":
                self._reply(404, {"error": "not found"})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                revision = body["revision"]
                if not isinstance(revision, str) or not 0 < len(revision) <= 128:
                    raise ValueError("revision must be a string of 1-128 characters")
            except (ValueError, KeyError, TypeError) as exc:
                self._reply(400, {"error": f"bad request: {exc}"})
                return
            with lock:
                state.update(revision=revision, commit=body.get("commit"), applied_by=body.get("applied_by"),
                             applied_at=time.time())
                current = dict(state)
            self._reply(200, current)

    address, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((address, int(port)), Handler)
    server.daemon_threads = True
    server.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
