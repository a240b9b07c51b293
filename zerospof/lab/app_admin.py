"""Reach the lab's app replicas' admin endpoint from the host (inside each zone's namespace)."""

from __future__ import annotations

import http.client
import json

from zerospof.errors import LabError
from zerospof.lab import topology as t
from zerospof.netns import in_namespace

__all__ = ["set_db_routing", "set_key_services"]


def set_db_routing(mode: str, timeout_s: float = 2.0) -> None:
    """PUT ``/admin/db-routing`` on every app replica; LabError naming those that refused or did not answer."""
    _put_everywhere("/admin/db-routing", mode, "database routing", timeout_s)


def set_key_services(mode: str, timeout_s: float = 2.0) -> None:
    """PUT ``/admin/key-services`` on every app replica (``with-replica`` | ``own-region-only``)."""
    _put_everywhere("/admin/key-services", mode, "key/secret services", timeout_s)


def _put_everywhere(path: str, mode: str, what: str, timeout_s: float) -> None:
    failed = []
    for zone in t.ZONES:
        with in_namespace(zone.namespace):
            connection = http.client.HTTPConnection(zone.address, t.APP_PORT, timeout=timeout_s)
            try:
                connection.request("PUT", path, body=json.dumps({"mode": mode}),
                                   headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                reply = response.read().decode(errors="replace")
                if response.status != 200:
                    failed.append(f"app-{zone.name}: HTTP {response.status} {reply[:200]}")
            except (OSError, http.client.HTTPException) as exc:
                failed.append(f"app-{zone.name}: {type(exc).__name__}: {exc}")
            finally:
                connection.close()
    if failed:
        raise LabError(f"could not set the apps' {what}: " + "; ".join(failed))
