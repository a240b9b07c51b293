"""Leader election through an etcd lease: campaign with ``create_revision == 0``, keep alive, resign.

The leader key holds the candidate's name and is attached to its lease; it vanishes when the
lease expires (holder SIGKILLed: after ``ttl_s``) or is revoked (holder resigned: at once).
A background thread keeps the lease alive every ``keepalive_s``. :meth:`is_leader` is
conservative: it turns False as soon as a keepalive finds the lease gone or 3/4 of ``ttl_s`` have
passed since the last confirmation, so a cut-off leader stops working before the lease can expire.
:attr:`fence` (the leader key's create revision) lets the leader make its writes conditional
on still holding the key.
"""

from __future__ import annotations

import threading
import time

from zerospof.lab.controlplane.etcd_http import EtcdClient, EtcdUnavailable

__all__ = ["LeaseElection"]


class LeaseElection:
    """One candidate ``name`` for the leader key ``key``."""

    def __init__(self, client: EtcdClient, key: str, name: str, *, ttl_s: int = 2,
                 keepalive_s: float = 0.5, campaign_delay_s: float = 0.0) -> None:
        self.client = client
        self.key = key
        self.name = name
        self.ttl_s = ttl_s
        self.keepalive_s = keepalive_s
        self.campaign_delay_s = campaign_delay_s
        self._lock = threading.Lock()
        self._lease = 0
        self._fence = 0
        self._confirmed_at = 0.0
        self._vacant_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keepalive_loop, name=f"keepalive-{name}", daemon=True)
        self._thread.start()

    @property
    def fence(self) -> int:
        """Create revision of our leader key (0 when not leading)."""
        with self._lock:
            return self._fence if self._leading_locked() else 0

    def is_leader(self) -> bool:
        with self._lock:
            return self._leading_locked()

    def _leading_locked(self) -> bool:
        # a margin of a quarter TTL: etcd started the TTL when it received the keepalive, not later
        return self._lease != 0 and time.monotonic() - self._confirmed_at < 0.75 * self.ttl_s

    def campaign(self, eligible: bool = True) -> bool:
        """Try once to become leader (when ``eligible`` and the key has been vacant long enough).

        Returns whether we lead afterwards. Raises EtcdUnavailable when etcd does not answer.
        """
        if self.is_leader():
            return True
        holder = self.client.get(self.key)
        now = time.monotonic()
        if holder is not None:
            self._vacant_since = None
            return False
        if self._vacant_since is None:
            self._vacant_since = now
        if not eligible or now - self._vacant_since < self.campaign_delay_s:
            return False
        lease = self.client.grant(self.ttl_s)
        compare = EtcdClient.compare(self.key, "CREATE", 0)
        revision = self.client.put_if(self.key, self.name, [compare], lease=lease)
        if revision is None:
            self.client.revoke(lease)
            return False
        with self._lock:
            self._lease, self._fence, self._confirmed_at = lease, revision, now
        self._vacant_since = None
        return True

    def resign(self) -> None:
        """Give up leadership now (revoke the lease; our key disappears). Safe when not leading."""
        with self._lock:
            lease, self._lease, self._fence = self._lease, 0, 0
        if lease:
            try:
                self.client.revoke(lease)
            except EtcdUnavailable:
                pass  # the lease expires by itself within ttl_s

    def close(self) -> None:
        """Resign and stop the keepalive thread."""
        self._stop.set()
        self._thread.join(timeout=2 * self.keepalive_s + self.client.timeout_s * len(self.client.endpoints))
        self.resign()

    def _keepalive_loop(self) -> None:
        while not self._stop.wait(self.keepalive_s):
            with self._lock:
                lease = self._lease
            if not lease:
                continue
            try:
                ttl = self.client.keepalive(lease)
            except EtcdUnavailable:
                continue  # is_leader() turns False on its own once ttl_s has passed unconfirmed
            with self._lock:
                if self._lease != lease:
                    continue
                if ttl > 0:
                    self._confirmed_at = time.monotonic()
                else:  # expired behind our back: forget it, campaign again later
                    self._lease, self._fence = 0, 0
