"""A small etcd v3 client over the JSON gRPC gateway, failing over between endpoints.

Stdlib only, over :mod:`zerospof.lab.http_lite` (it runs in the lab's API replicas and schedulers).

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


def _prefix_end(prefix: str) -> str:
    raw = bytearray(prefix.encode())
    raw[-1] += 1  # prefixes here are ASCII paths ending in "/", never 0xff
    return base64.b64encode(bytes(raw)).decode()


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

    def get_prefix(self, prefix: str) -> list[KeyValue]:
        """Linearizable read of every key under ``prefix``, in key order."""
        reply = self.call("/v3/kv/range", {"key": _b64(prefix), "range_end": _prefix_end(prefix)})
        return [_kv(raw) for raw in reply.get("kvs", [])]

    def put(self, key: str, value: str, lease: int = 0) -> int:
        """Write ``key``; return the store revision of the write."""
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        return int(self.call("/v3/kv/put", body)["header"]["revision"])

    def put_if(self, key: str, value: str, compares: list[dict[str, Any]], lease: int = 0) -> int | None:
        """Write ``key`` only when every compare holds; return the write's revision, None when not.

        A compare is ``{"key", "target": "CREATE"|"MOD"|"VALUE", "result": "EQUAL"|..., <field>}``
        with a plain-text key (and value); see :meth:`compare`.
        """
        put: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            put["lease"] = str(lease)
        reply = self.call("/v3/kv/txn", {"compare": compares, "success": [{"request_put": put}]})
        return int(reply["header"]["revision"]) if reply.get("succeeded") else None

    @staticmethod
    def compare(key: str, target: str, expected: int | str, result: str = "EQUAL") -> dict[str, Any]:
        """Build one txn compare: ``target`` is CREATE (create_revision), MOD or VALUE."""
        field = {"CREATE": "create_revision", "MOD": "mod_revision", "VALUE": "value"}[target]
        shown = _b64(expected) if target == "VALUE" else str(expected)
        return {"key": _b64(key), "target": target, "result": result, field: shown}

    def delete(self, key: str) -> None:
        self.call("/v3/kv/deleterange", {"key": _b64(key)})

    # -- leases ------------------------------------------------------------------------
    def grant(self, ttl_s: int) -> int:
        """Grant a lease of ``ttl_s`` seconds; return its id."""
        return int(self.call("/v3/lease/grant", {"TTL": ttl_s})["ID"])

    def keepalive(self, lease: int) -> int:
        """Refresh ``lease`` once; return its remaining TTL in seconds (0: it has expired)."""
        return int(self.call("/v3/lease/keepalive", {"ID": str(lease)}).get("TTL", 0))

    def revoke(self, lease: int) -> None:
        """Revoke ``lease`` (its keys are deleted at once); an unknown lease is not an error."""
        try:
            self.call("/v3/lease/revoke", {"ID": str(lease)})
        except EtcdUnavailable as exc:
            if "lease not found" not in str(exc):
                raise

    # -- cluster -----------------------------------------------------------------------
    def members(self) -> dict[int, dict[str, Any]]:
        """Return ``{member_id: {"name", "client_urls"}}``."""
        reply = self.call("/v3/cluster/member/list", {})
        return {int(m["ID"]): {"name": m.get("name", ""), "client_urls": m.get("clientURLs", [])}
                for m in reply.get("members", [])}
