"""A small client of the lab's Kubernetes API: JSON over HTTPS with a client certificate, no dependencies.

The lab's own daemons (the node agents) run it where the ``kubernetes`` package would cost ~40 MiB each.
:meth:`KubeApi.call` tries each server URL in turn on connection errors (not on HTTP answers) and raises
:class:`KubeUnavailable` when none answered; an HTTP status is returned, never raised. An answer cut off
mid-body (``http.client.IncompleteRead``: an API server or its LB node killed while answering) is a server
that did not answer, like a reset connection: it once escaped and killed two node agents for good.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

__all__ = ["KubeApi", "KubeUnavailable"]


class KubeUnavailable(Exception):
    """No API server answered."""


class KubeApi:
    """Call the API at ``servers`` (``https://ADDR:PORT`` each) as the client certificate ``cert``/``key``."""

    def __init__(self, servers: list[str], ca: Path, cert: Path, key: Path, *, timeout_s: float = 2.0) -> None:
        self.servers = list(servers)
        self.timeout_s = timeout_s
        self.context = ssl.create_default_context(cafile=str(ca))
        self.context.load_cert_chain(str(cert), str(key))
        self.last_server: str | None = None

    @classmethod
    def from_kubeconfig(cls, path: Path, *, timeout_s: float = 2.0, servers: list[str] | None = None) -> KubeApi:
        """Build a client from a kubeconfig that :func:`zerospof.lab.kube.pki.write_kubeconfig` wrote (its server,
        or ``servers`` tried in turn)."""
        config = yaml.safe_load(Path(path).read_text())
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        return cls(servers or [cluster["server"]], Path(cluster["certificate-authority"]),
                   Path(user["client-certificate"]), Path(user["client-key"]), timeout_s=timeout_s)

    def call(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
             timeout_s: float | None = None) -> tuple[int, Any]:
        """Send one request; return ``(status, decoded JSON body or None)``. KubeUnavailable when no server answered."""
        data = None if body is None else json.dumps(body).encode()
        errors = []
        for server in self.servers:
            request = urllib.request.Request(server + path, data=data, method=method,
                                             headers={"Content-Type": content_type, "Accept": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=timeout_s or self.timeout_s,
                                            context=self.context) as reply:
                    self.last_server = server
                    return reply.status, _decode(reply.read())
            except urllib.error.HTTPError as exc:
                self.last_server = server
                try:
                    return exc.code, _decode(exc.read())
                except (OSError, http.client.HTTPException):
                    return exc.code, None  # the status came; its body was cut off
            except (OSError, ValueError, http.client.HTTPException) as exc:
                errors.append(f"{server}: {type(exc).__name__}: {exc}")
        raise KubeUnavailable("; ".join(errors))


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return {"raw": raw[:300].decode(errors="replace")}
