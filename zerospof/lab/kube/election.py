"""Leader election through a ``coordination.k8s.io/v1`` Lease, as client-go's ``leaderelection`` does it.

A candidate takes the Lease when it is vacant (no holder) or expired (``renewTime`` + ``leaseDurationSeconds``
passed) and has looked so for its ``campaign_delay_s``, with an update conditional on the ``resourceVersion`` it
read: the API server answers 409 to every candidate but the first, so two never both win. The holder renews it
every ``renew_s`` from a background thread, again conditionally; a 409 means somebody else took it. :meth:`is_leader`
is conservative: it turns False once 3/4 of the duration passed since the last confirmed renewal, so a holder cut
off from the API stops acting before a standby can take over. :meth:`resign` clears the holder (a standby takes
it at once). Lab daemons use it, so it uses :class:`zerospof.lab.kube.api.KubeApi` (no ``kubernetes`` package).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any

from zerospof.lab.kube.api import KubeApi, KubeUnavailable

__all__ = ["KubeLeaseElection", "lease_expired", "micro_time"]


def micro_time(at: float | None = None) -> str:
    """A Kubernetes MicroTime (RFC 3339, microseconds, UTC) for the epoch seconds ``at`` (default: now)."""
    moment = datetime.fromtimestamp(time.time() if at is None else at, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def lease_expired(spec: dict[str, Any], now: float | None = None) -> bool:
    """Whether a Lease spec has no holder or was not renewed within its duration (epoch ``now``, default: now)."""
    renewed = _epoch(spec.get("renewTime"))
    if not spec.get("holderIdentity") or renewed is None:
        return True
    return (time.time() if now is None else now) >= renewed + float(spec.get("leaseDurationSeconds") or 0)


class KubeLeaseElection:
    """The candidate ``identity`` for the Lease ``namespace/name``."""

    def __init__(self, api: KubeApi, namespace: str, name: str, identity: str, *, duration_s: int = 2,
                 renew_s: float = 0.5, campaign_delay_s: float = 0.0) -> None:
        self.api = api
        self.path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"
        self.collection = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self.namespace, self.name, self.identity = namespace, name, identity
        self.duration_s = duration_s
        self.renew_s = renew_s
        self.campaign_delay_s = campaign_delay_s
        self._lock = threading.Lock()
        self._held: dict[str, Any] | None = None  # our Lease object as the API last confirmed it
        self._confirmed_at = 0.0
        self._vacant_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, name=f"lease-{identity}", daemon=True)
        self._thread.start()

    def is_leader(self) -> bool:
        with self._lock:
            return self._leading_locked()

    def _leading_locked(self) -> bool:
        return self._held is not None and time.monotonic() - self._confirmed_at < 0.75 * self.duration_s

    def _confirm(self, found: dict[str, Any] | None) -> None:
        with self._lock:
            self._held, self._confirmed_at = found, time.monotonic()

    def campaign(self, eligible: bool = True) -> bool:
        """Try once to take the Lease (when ``eligible`` and it has been vacant long enough); return whether we
        lead afterwards. Raises KubeUnavailable when no API server answered."""
        if self.is_leader():
            return True
        status, found = self.api.call("GET", self.path, timeout_s=1.0)
        if status not in (200, 404):
            return False
        spec = (found or {}).get("spec") or {} if status == 200 else {}
        if status == 200 and spec.get("holderIdentity") == self.identity and not lease_expired(spec):
            self._confirm(found)  # ours already (e.g. a renewal whose answer was lost)
            return True
        if status == 200 and not lease_expired(spec):
            self._vacant_since = None
            return False
        now = time.monotonic()
        self._vacant_since = self._vacant_since if self._vacant_since is not None else now
        if not eligible or now - self._vacant_since < self.campaign_delay_s:
            return False
        stamp = micro_time()
        mine = {"holderIdentity": self.identity, "leaseDurationSeconds": self.duration_s, "acquireTime": stamp,
                "renewTime": stamp, "leaseTransitions": int(spec.get("leaseTransitions") or 0) + (status == 200)}
        if status == 404:
            status, answer = self.api.call("POST", self.collection, {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace}, "spec": mine}, timeout_s=1.0)
        else:
            status, answer = self.api.call("PUT", self.path, {**found, "spec": {**spec, **mine}}, timeout_s=1.0)
        if status not in (200, 201):
            return False  # 409: another candidate was first
        self._vacant_since = None
        self._confirm(answer)
        return True

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.renew_s):  # until close()
            with self._lock:
                held = self._held
            if held is None:
                continue
            renewed = {**held, "spec": {**held["spec"], "renewTime": micro_time()}}
            try:
                status, answer = self.api.call("PUT", self.path, renewed, timeout_s=1.0)
            except KubeUnavailable:
                continue  # is_leader() turns False by itself if this lasts
            if status == 200:
                self._confirm(answer)
            elif status in (404, 409):
                with self._lock:
                    self._held = None  # somebody else holds it now (or it was deleted)

    def resign(self) -> None:
        """Give the Lease up at once (a standby may take it right away); best effort."""
        with self._lock:
            held, self._held = self._held, None
        if held is None:
            return
        spec = {**held["spec"], "holderIdentity": None, "leaseDurationSeconds": 1, "renewTime": micro_time()}
        try:
            self.api.call("PUT", self.path, {**held, "spec": spec}, timeout_s=1.0)
        except KubeUnavailable:
            pass

    def close(self) -> None:
        """Stop renewing and resign."""
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.resign()
