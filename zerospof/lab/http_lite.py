"""A small JSON-over-HTTP server and client for the lab's own daemons (app, API replicas, reconcilers ...).

Why not ``http.server`` / ``urllib.request``: they import ``email``, ``http.client`` and ``ssl``,
about 4 MiB of private memory per process, and the lab runs fifteen such daemons on a 400 MiB
budget. Both ends speak the HTTP/1.0 subset the lab needs: one request per connection, bodies
delimited by ``Content-Length`` (or, in responses, by the connection closing), no chunked bodies.
HAProxy (health checks and proxying), PowerDNS's ``ifurlup`` and etcd's JSON gateway all speak it.

- :class:`JsonServer`: ``handle(method, target, body) -> (status, JSON-able body)`` per request,
  each in its own thread; a handler that raises answers 500.
- :func:`request_json`: one request, bounded by a total ``timeout_s``; returns (status, parsed body);
  raises :class:`HttpError` (an ``OSError``) when there is no usable answer.
"""

from __future__ import annotations

import json
import socket
import socketserver
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Handler", "HttpError", "JsonServer", "request_json"]

Handler = Callable[[str, str, bytes], tuple[int, Any]]
MAX_HEADER_BYTES = 16_384
MAX_BODY_BYTES = 4 * 1024 * 1024
_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 503: "Service Unavailable"}


class HttpError(OSError):
    """No usable HTTP answer (malformed, too large or cut short)."""


class _Connection(socketserver.StreamRequestHandler):
    server: JsonServer
    timeout = 10.0  # per socket operation: a silent client does not hold a thread for ever

    def handle(self) -> None:
        try:
            method, target, headers = self._head()
            length = int(headers.get("content-length") or 0)
            if not 0 <= length <= MAX_BODY_BYTES:
                raise ValueError(f"bad Content-Length {length}")
            body = self.rfile.read(length) if length else b""
        except (ValueError, OSError, UnicodeDecodeError):
            return  # not HTTP, or the client went away: nothing to answer
        try:
            status, payload = self.server.handler(method, target, body)
        except Exception as exc:  # noqa: BLE001 - a handler bug answers 500, the server keeps serving
            status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"[:300]}
        data = b"" if method == "HEAD" else json.dumps(payload).encode()
        head = (f"HTTP/1.0 {status} {_REASONS.get(status, 'Status')}\r\nServer: {self.server.name}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n")
        try:
            self.wfile.write(head.encode() + data)
        except OSError:
            pass

    def _head(self) -> tuple[str, str, dict[str, str]]:
        line = self.rfile.readline(MAX_HEADER_BYTES).decode("latin-1")
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise ValueError(f"bad request line {line[:100]!r}")
        headers: dict[str, str] = {}
        size = len(line)
        while True:
            raw = self.rfile.readline(MAX_HEADER_BYTES)
            size += len(raw)
            if size > MAX_HEADER_BYTES:
                raise ValueError("headers too large")
            if raw in (b"\r\n", b"\n"):
                return parts[0].upper(), parts[1], headers
            if not raw:
                raise ValueError("headers cut short")
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()


class JsonServer(socketserver.ThreadingTCPServer):
    """Serve ``handler`` on ``(address, port)``; ``serve_forever()`` to run, ``shutdown()`` from another thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: Handler, name: str = "zerospof-lab") -> None:
        self.handler = handler
        self.name = name
        super().__init__(address, _Connection)


def _split_url(url: str) -> tuple[str, int, str]:
    if not url.startswith("http://"):
        raise ValueError(f"only http:// URLs, not {url!r}")
    rest = url[len("http://"):]
    hostport, slash, path = rest.partition("/")
    host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "80")
    return host, int(port), slash + path if slash else "/"


def request_json(method: str, url: str, body: Any = None, timeout_s: float = 1.0) -> tuple[int, Any]:
    """Send one request (``body`` as JSON when not None); return (status, parsed JSON body or None).

    The whole exchange is bounded by ``timeout_s``. Raises :class:`HttpError` (or another
    ``OSError``: refused, unreachable, timed out) when no complete answer arrived.
    """
    host, port, path = _split_url(url)
    data = b"" if body is None else json.dumps(body).encode()
    head = (f"{method} {path} HTTP/1.0\r\nHost: {host}:{port}\r\nAccept: application/json\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n")
    deadline = time.monotonic() + timeout_s
    chunks: list[bytes] = []
    with socket.create_connection((host, port), timeout=timeout_s) as connection:
        connection.sendall(head.encode() + data)
        received = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout(f"{method} {url}: no complete answer within {timeout_s}s")
            connection.settimeout(left)
            chunk = connection.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
            if received > MAX_BODY_BYTES:
                raise HttpError(f"{method} {url}: answer larger than {MAX_BODY_BYTES} bytes")
    return _parse(b"".join(chunks), f"{method} {url}")


def _parse(raw: bytes, what: str) -> tuple[int, Any]:
    head, separator, payload = raw.partition(b"\r\n\r\n")
    if not separator:
        raise HttpError(f"{what}: answer cut short ({len(raw)} bytes)")
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(None, 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/") or not status_line[1].isdigit():
        raise HttpError(f"{what}: bad status line {lines[0][:100]!r}")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise HttpError(f"{what}: chunked answers are not supported")
    if "content-length" in headers:
        length = int(headers["content-length"])
        if len(payload) < length:
            raise HttpError(f"{what}: body cut short ({len(payload)} of {length} bytes)")
        payload = payload[:length]
    status = int(status_line[1])
    try:
        parsed = json.loads(payload) if payload.strip() else None
    except ValueError as exc:
        if status >= 400:  # e.g. a load balancer's own error page
            return status, {"error": payload[:300].decode(errors="replace")}
        raise HttpError(f"{what}: body is not JSON: {payload[:100]!r}") from exc
    return status, parsed
