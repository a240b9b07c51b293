"""The user's view of the lab: resolve the app name through the lab's DNS, then HTTP to an LB.

Runs in the ``zs-client`` namespace (the calling thread moves there for the call only).
DNS: primary provider first, then the backup. HTTP: each resolved address in turn, with a short
connect timeout, like a browser trying the A records of a name.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

from zerospof.lab import topology as t
from zerospof.netns import in_namespace

__all__ = ["ClientError", "Response", "resolve", "request"]


class ClientError(Exception):
    """The app could not be reached (DNS or every address failed); ``str`` says why."""


@dataclass(frozen=True)
class Response:
    """An HTTP answer from the app: status, parsed JSON body, which LB and DNS server served it."""

    status: int
    body: Any
    address: str
    dns_server: str
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _resolve_here(name: str, timeout_s: float) -> tuple[list[str], str]:
    errors = []
    for server in t.DNS_SERVERS:
        try:
            answer = dns.query.udp(dns.message.make_query(name, dns.rdatatype.A), server.address, timeout=timeout_s)
        except (dns.exception.DNSException, OSError) as exc:
            errors.append(f"{server.name}: {type(exc).__name__}")
            continue
        addresses = [item.address for rrset in answer.answer for item in rrset if hasattr(item, "address")]
        if addresses:
            return addresses, server.name
        errors.append(f"{server.name}: empty answer")
    raise ClientError(f"cannot resolve {name}: {'; '.join(errors)}")


def resolve(name: str = t.APP_NAME, namespace: str | None = t.CLIENT.namespace,
            timeout_s: float = 0.5) -> tuple[list[str], str]:
    """Return (addresses, DNS server name) for ``name``, asking the primary provider then the backup."""
    with in_namespace(namespace):
        return _resolve_here(name, timeout_s)


def _http(address: str, method: str, path: str, body: bytes | None, connect_timeout_s: float,
          timeout_s: float) -> tuple[int, bytes]:
    sock = socket.create_connection((address, t.LB_PORT), timeout=connect_timeout_s)
    sock.settimeout(timeout_s)
    connection = http.client.HTTPConnection(address, t.LB_PORT, timeout=timeout_s)
    connection.sock = sock
    try:
        headers = {"Host": t.APP_NAME, "Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def request(method: str = "GET", path: str = "/read", payload: Any = None, *,
            namespace: str | None = t.CLIENT.namespace, connect_timeout_s: float = 0.3,
            timeout_s: float = 3.0, dns_timeout_s: float = 0.5) -> Response:
    """Resolve the app, send one request, return the first HTTP answer; ClientError if none.

    Connection failures move on to the next resolved address; an HTTP answer (even 5xx) is
    returned as is, the caller decides what counts as a failure.
    """
    started = time.monotonic()
    body = None if payload is None else json.dumps(payload).encode()
    with in_namespace(namespace):
        addresses, server = _resolve_here(t.APP_NAME, dns_timeout_s)
        errors = []
        for address in addresses:
            try:
                status, data = _http(address, method, path, body, connect_timeout_s, timeout_s)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{address}: {type(exc).__name__}: {exc}")
                continue
            try:
                parsed: Any = json.loads(data)
            except ValueError:
                parsed = data.decode(errors="replace")
            return Response(status, parsed, address, server, time.monotonic() - started)
    raise ClientError(f"{method} {path} failed on every address: {'; '.join(errors)}")
