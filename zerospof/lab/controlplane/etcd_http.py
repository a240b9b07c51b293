"""A small etcd v3 client over the JSON gRPC gateway, failing over between endpoints.

Stdlib only, over :mod:`zerospof.lab.http_lite`. What the lab reads from its etcd clusters: a key (is Patroni's
cluster initialized), the member list and each member's status (the etcd leader signal).

Keys and values are ``str`` here and base64 on the wire; int64 fields arrive as strings and
are returned as ``int``. Every call tries the endpoint that answered last first, then the others,
each attempt bounded by ``timeout_s``; :class:`EtcdUnavailable` when none answered.
An etcd error reply (e.g. ``etcdserver: leader changed``) counts as "did not answer".
"""

from __future__ import annotations

import base64
from typing import Any, NamedTuple

from zerospof.errors import LabError
from zerospof.lab.http_lite import request_json

__all__ = ["EtcdClient", "EtcdUnavailable", "KeyValue", "member_status"]


class EtcdUnavailable(LabError):
    """No etcd endpoint answered the request."""


class KeyValue(NamedTuple):
    """One key as etcd stores it.

    (A NamedTuple, not a dataclass: ``dataclasses`` imports ``inspect``, about 1 MiB in each lab daemon.)
    """

    key: str
    value: str
    create_revision: int
    mod_revision: int
    lease: int


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: str | None) -> str:
    return base64.b64decode(text or "").decode(errors="replace")


def _kv(raw: dict[str, Any]) -> KeyValue:
    return KeyValue(_unb64(raw.get("key")), _unb64(raw.get("value")), int(raw.get("create_revision", 0)),
                    int(raw.get("mod_revision", 0)), int(raw.get("lease", 0)))


def _post(url: str, body: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    try:
        status, reply = request_json("POST", url, body, timeout_s)
    except (OSError, ValueError) as exc:
        raise EtcdUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
    if status >= 400:
        raise EtcdUnavailable(f"{url}: HTTP {status} {str(reply)[:200]}")
    if not isinstance(reply, dict):
        raise EtcdUnavailable(f"{url}: unexpected answer {str(reply)[:200]}")
    if "error" in reply:
        raise EtcdUnavailable(f"{url}: {reply.get('message') or reply['error']}")
    return reply.get("result", reply)  # streaming RPCs (lease keepalive) wrap their reply


def member_status(endpoint: str, timeout_s: float = 0.5) -> dict[str, Any]:
    """Return one member's ``/v3/maintenance/status``: ``{"member_id", "leader_id", "raft_term"}``."""
    reply = _post(f"{endpoint}/v3/maintenance/status", {}, timeout_s)
    return {"member_id": int(reply["header"]["member_id"]), "leader_id": int(reply.get("leader", 0)),
            "raft_term": int(reply.get("raftTerm", 0))}


class EtcdClient:
    """Talk to an etcd cluster through any of ``endpoints`` (``http://host:port``)."""

    def __init__(self, endpoints: list[str], timeout_s: float = 1.0) -> None:
        if not endpoints:
            raise LabError("EtcdClient needs at least one endpoint")
        self.endpoints = [endpoint.rstrip("/") for endpoint in endpoints]
        self.timeout_s = timeout_s
        self._preferred = 0
        self.last_endpoint: str | None = None

    def call(self, path: str, body: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        """POST ``body`` to ``path`` on the first endpoint that answers; raise EtcdUnavailable."""
        errors = []
        count = len(self.endpoints)
        for step in range(count):
            index = (self._preferred + step) % count
            try:
                reply = _post(self.endpoints[index] + path, body, timeout_s or self.timeout_s)
            except EtcdUnavailable as exc:
                errors.append(str(exc))
                continue
            self._preferred = index
            self.last_endpoint = self.endpoints[index]
            return reply
        raise EtcdUnavailable("no etcd endpoint answered: " + "; ".join(errors))

    # -- keys --------------------------------------------------------------------------
    def get(self, key: str, timeout_s: float | None = None) -> KeyValue | None:
        """Linearizable read of ``key``; None when absent."""
        kvs = self.call("/v3/kv/range", {"key": _b64(key)}, timeout_s).get("kvs", [])
        return _kv(kvs[0]) if kvs else None

    # -- cluster -----------------------------------------------------------------------
    def members(self) -> dict[int, dict[str, Any]]:
        """Return ``{member_id: {"name", "client_urls"}}``."""
        reply = self.call("/v3/cluster/member/list", {})
        return {int(m["ID"]): {"name": m.get("name", ""), "client_urls": m.get("clientURLs", [])}
                for m in reply.get("members", [])}
