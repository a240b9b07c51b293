"""Traffic helpers for lab tests: a fixed-rate probe thread and bounded waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zerospof.lab import client


@dataclass
class Probe:
    """Send one request every ``interval_s`` (spread over ``workers`` threads) from the client
    namespace; count what failed."""

    method: str = "GET"
    path: str = "/read"
    interval_s: float = 0.05
    payload: Callable[[int], Any] | None = None
    workers: int = 1
    results: list[tuple[float, bool, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _count: int = 0

    def _run(self, offset_s: float) -> None:
        self._stop.wait(offset_s)
        period_s = self.interval_s * self.workers
        while not self._stop.is_set():
            started = time.monotonic()
            with self._lock:
                self._count += 1
                number = self._count
            try:
                body = self.payload(number) if self.payload else None
                response = client.request(self.method, self.path, body, timeout_s=2.0)
                detail = response.body.get("zone", "") if isinstance(response.body, dict) else ""
                self.results.append((started, response.ok, f"{response.status} {detail}"))
            except Exception as exc:  # noqa: BLE001 - every failure is a failed request
                self.results.append((started, False, f"{type(exc).__name__}: {exc}"[:200]))
            self._stop.wait(max(0.0, period_s - (time.monotonic() - started)))

    def __enter__(self) -> Probe:
        for index in range(self.workers):
            thread = threading.Thread(target=self._run, args=(index * self.interval_s,), daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    @property
    def rate_hz(self) -> float:
        if len(self.results) < 2:
            return 0.0
        return len(self.results) / (self.results[-1][0] - self.results[0][0])

    @property
    def failed(self) -> list[tuple[float, bool, str]]:
        return [result for result in self.results if not result[1]]

    def all_ok_since(self, since: float) -> bool:
        recent = [result for result in self.results if result[0] >= since]
        return bool(recent) and all(result[1] for result in recent)


