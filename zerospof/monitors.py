"""Background samplers that call a probe at a fixed rate and append what they see to a timeline.

A sampler schedules by deadline (tick ``k`` is due at ``start + k * interval``), not by sleeping
after the work, so slow probes do not make the rate drift. A tick whose slot has passed
(late by more than half an interval) is skipped and counted, never bunched. Every sampler is bounded in time and stops by itself.
"""

from __future__ import annotations

import http.client
import json
import math
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from zerospof.netns import enter_namespace
from zerospof.timeline import Timeline

__all__ = ["LATENESS_KEPT", "Sampler", "SamplerStats", "HttpProbe", "ProbeFailed"]


class ProbeFailed(Exception):
    """A probe saw a failure (bad status, refused connection); recorded as a failed sample."""


LATENESS_KEPT = 4096  # ticks whose lateness SamplerStats keeps (the most recent): bounded in a 4 h run


@dataclass
class SamplerStats:
    """What a sampler did: ticks run, ticks skipped because the previous call overran, lateness.

    ``lateness_s`` holds the most recent :data:`LATENESS_KEPT` ticks' lateness (memory stays bounded
    however long the run); ``max_lateness_s`` covers every tick.
    """

    calls: int = 0
    failures: int = 0
    skipped: int = 0
    lateness_s: deque[float] = field(default_factory=lambda: deque(maxlen=LATENESS_KEPT))
    max_lateness_s: float = 0.0

    def record_lateness(self, lateness_s: float) -> None:
        self.lateness_s.append(lateness_s)
        self.max_lateness_s = max(self.max_lateness_s, lateness_s)


class Sampler:
    """Call ``probe()`` every ``interval_s`` seconds in the background for at most ``max_duration_s``.

    ``probe`` returns the observed value (a success) or raises (a failed sample whose error is
    the exception text). Each sample is stamped with the tick's start time and the call's
    duration (``latency_s``: from the tick to the answer, what a user waited). With
    ``concurrency > 1`` ticks are handed to a pool, so a hung call does not delay the next
    tick (open-loop traffic); with ``namespace`` every call runs in that network namespace.
    """

    def __init__(
        self,
        name: str,
        probe: Callable[[], Any],
        timeline: Timeline,
        *,
        interval_s: float,
        max_duration_s: float,
        concurrency: int = 1,
        namespace: str | None = None,
    ) -> None:
        if interval_s <= 0 or max_duration_s <= 0:
            raise ValueError("interval_s and max_duration_s must be positive")
        self.name = name
        self.probe = probe
        self.timeline = timeline
        self.interval_s = interval_s
        self.max_duration_s = max_duration_s
        self.concurrency = concurrency
        self.namespace = namespace
        self.stats = SamplerStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = threading.Semaphore(concurrency)

    def start(self) -> Sampler:
        if self._thread is not None:
            raise RuntimeError(f"sampler {self.name} already started")
        self._thread = threading.Thread(target=self._run, name=f"sampler-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop ticking and wait (bounded) for calls in flight."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _call(self, tick_mono: float) -> None:
        try:
            value = self.probe()
        except Exception as exc:  # noqa: BLE001 - any probe error is a failed sample, by design
            self.stats.failures += 1
            self.timeline.record(self.name, False, error=f"{type(exc).__name__}: {exc}", t_mono=tick_mono,
                                 latency_s=time.monotonic() - tick_mono)
        else:
            self.timeline.record(self.name, True, value, t_mono=tick_mono, latency_s=time.monotonic() - tick_mono)
        finally:
            self._busy.release()

    def _run(self) -> None:
        if self.concurrency == 1 and self.namespace:
            enter_namespace(self.namespace)
        pool = None
        if self.concurrency > 1:
            initializer = (lambda: enter_namespace(self.namespace)) if self.namespace else None
            pool = ThreadPoolExecutor(self.concurrency, f"sampler-{self.name}", initializer=initializer)
        start = time.monotonic()
        end = start + self.max_duration_s
        tick = 0
        try:
            while not self._stop.is_set():
                due = start + tick * self.interval_s
                now = time.monotonic()
                if due >= end:
                    break
                if due > now and self._stop.wait(due - now):
                    break
                now = time.monotonic()
                if now - due > self.interval_s / 2:  # the slot has passed: skip to the next, never bunch
                    missed = max(1, math.ceil((now - due) / self.interval_s))
                    self.stats.skipped += missed
                    tick += missed
                    continue
                if not self._busy.acquire(blocking=False):
                    self.stats.skipped += 1
                    tick += 1
                    continue
                self.stats.calls += 1
                self.stats.record_lateness(now - due)
                if pool is None:
                    self._call(now)
                else:
                    pool.submit(self._call, now)
                tick += 1
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


REDIRECTS = ("accept", "follow", "fail")  # what a 3xx answer means to HttpProbe
MAX_REDIRECTS = 5


class HttpProbe:
    """One request to ``url`` over a new connection each call, resolving the host each time (DNS failover is seen).

    ``resolve(host) -> list of addresses`` defaults to the system resolver. Every resolved address is
    tried in turn, as a browser does, until one accepts the connection (and the TLS handshake);
    an HTTP answer, good or bad, ends the call. A status >= 400, no address connecting, or a
    resolution failure raises; a success returns ``{"status", "latency_s", "address", "body"}``
    (``body`` parsed when it is small JSON; ``tried``: the addresses that failed first, if any).

    ``method`` and ``body`` (bytes, sent with its Content-Length) make it a write probe;
    ``headers`` are sent on every request (e.g. ``Authorization`` read from the environment by the
    caller: they are never part of the result or of an error message). ``connect_timeout_s`` bounds
    each connection attempt, ``timeout_s`` each read. ``redirects``: a 3xx is an answer
    (``"accept"``, the default), is followed up to ``MAX_REDIRECTS`` hops (``"follow"``: 307/308
    keep the method and body, the others become a GET) or is a failure (``"fail"``).
    ``https`` URLs are verified against the host name (SNI and certificate) with ``ssl_context``,
    by default the system's trust store; verification is never turned off here.
    """

    def __init__(
        self,
        url: str,
        *,
        resolve: Callable[[str], list[str]] | None = None,
        connect_timeout_s: float = 0.25,
        timeout_s: float = 1.0,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        redirects: str = "accept",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"only http(s)://host[:port]/path URLs are supported, not {url!r}")
        if redirects not in REDIRECTS:
            raise ValueError(f"redirects must be one of {REDIRECTS}, not {redirects!r}")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl_context = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.method = method
        self.body = body
        self.headers = dict(headers or {})
        self.redirects = redirects
        self.resolve = resolve or _system_resolve
        self.connect_timeout_s = connect_timeout_s
        self.timeout_s = timeout_s

    def __repr__(self) -> str:  # never the headers: they may hold credentials
        return f"HttpProbe({self.method} {self.url})"

    def __call__(self) -> dict[str, Any]:
        started = time.monotonic()
        probe = self
        for _ in range(MAX_REDIRECTS + 1):
            answer, location = probe._once()
            if location is None or self.redirects == "accept":
                break
            if self.redirects == "fail":
                raise ProbeFailed(f"HTTP {answer['status']} redirect from {answer['address']} (redirects: fail)")
            probe = probe._redirected(answer["status"], location)
        else:
            raise ProbeFailed(f"more than {MAX_REDIRECTS} redirects from {self.url}")
        answer["latency_s"] = time.monotonic() - started
        return answer

    def _redirected(self, status: int, location: str) -> HttpProbe:
        from urllib.parse import urljoin

        keep = status in (307, 308)
        base = f"{'https' if self.ssl_context is not None else 'http'}://{self.host}:{self.port}{self.path}"
        return HttpProbe(urljoin(base, location), resolve=self.resolve, connect_timeout_s=self.connect_timeout_s,
                         timeout_s=self.timeout_s, method=self.method if keep else "GET",
                         body=self.body if keep else None, headers=self.headers, redirects="accept",
                         ssl_context=self.ssl_context)

    def _connect(self) -> tuple[socket.socket, str, list[str]]:
        """Connect to the first resolved address that accepts (and completes TLS); raise naming every failure."""
        addresses = self.resolve(self.host)
        if not addresses:
            raise ProbeFailed(f"{self.host} resolved to no address")
        failed: list[str] = []
        errors: list[OSError] = []
        for address in addresses:
            try:
                sock = socket.create_connection((address, self.port), timeout=self.connect_timeout_s)
            except OSError as exc:
                failed.append(f"{address}: {type(exc).__name__}: {exc}")
                errors.append(exc)
                continue
            if self.ssl_context is not None:
                try:
                    sock = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
                except ssl.SSLCertVerificationError:
                    sock.close()
                    raise  # a certificate that does not verify is not retried elsewhere
                except OSError as exc:
                    sock.close()
                    failed.append(f"{address}: {type(exc).__name__}: {exc}")
                    errors.append(exc)
                    continue
            return sock, address, failed
        if len(errors) == 1:
            raise errors[0]
        raise ConnectionError(f"no address of {self.host} connected: " + "; ".join(failed)) from errors[-1]

    def _once(self) -> tuple[dict[str, Any], str | None]:
        sock, address, failed = self._connect()
        connection = http.client.HTTPConnection(address, self.port, timeout=self.timeout_s)
        connection.sock = sock
        sock.settimeout(self.timeout_s)
        headers = {"Host": self.host, "Connection": "close", **self.headers}
        try:
            connection.request(self.method, self.path, body=self.body, headers=headers)
            response = connection.getresponse()
            payload = response.read(4096)
        finally:
            connection.close()
        if response.status >= 400:
            raise ProbeFailed(f"HTTP {response.status} from {address}")
        answer = {"status": response.status, "address": address,
                  "body": _small_json(payload, response.getheader("Content-Type", ""))}
        if failed:
            answer["tried"] = failed
        location = response.getheader("Location") if 300 <= response.status < 400 else None
        return answer, location


def _system_resolve(host: str) -> list[str]:
    return [info[4][0] for info in socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)]


def _small_json(payload: bytes, content_type: str) -> Any:
    if "json" not in content_type:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None
