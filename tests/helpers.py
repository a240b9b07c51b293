"""Helpers shared by the suite's own tests."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces")


@contextmanager
def scratch_namespace(device: str = "zsdummy0") -> Iterator[str]:
    """Create a network namespace with one veth link (peer ``<device>p``) set up; delete it afterwards."""
    name = f"zs-test-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", device, "type", "veth", "peer", "name", f"{device}p"],
                       check=True)
        subprocess.run(["ip", "-n", name, "link", "set", device, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def wait_for(predicate: Callable[[], Any], timeout_s: float, interval_s: float = 0.05) -> tuple[Any, float]:
    """Poll ``predicate`` until truthy (bounded in count and time); return (last value, seconds waited)."""
    started = time.monotonic()
    value = predicate()
    for _ in range(int(timeout_s / interval_s) + 1):
        if value or time.monotonic() - started >= timeout_s:
            break
        time.sleep(interval_s)
        value = predicate()
    return value, time.monotonic() - started


_real_connect = socket.socket.connect


def loopback_only_connect(self: socket.socket, address: Any) -> Any:
    """``socket.connect`` that fails any connection to a non-loopback address (patched in by test dirs)."""
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise AssertionError(f"test tried to reach {address!r}: only loopback is allowed")
    return _real_connect(self, address)


class RequestLoop:
    """Call ``request()`` every ``interval_s`` in a background thread (bounded in count); keep one
    ``(sent, answered, ok, detail)`` per call (monotonic). ``request`` returns ``(ok, detail)``."""

    def __init__(self, request: Callable[[], tuple[bool, str]], interval_s: float = 0.05,
                 max_calls: int = 100_000) -> None:
        self.request = request
        self.interval_s = interval_s
        self.max_calls = max_calls
        self.results: list[tuple[float, float, bool, str]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        for _ in range(self.max_calls):
            if self._stop.is_set():
                return
            started = time.monotonic()
            ok, detail = self.request()
            self.results.append((started, time.monotonic(), ok, detail))
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def __enter__(self) -> RequestLoop:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def failed_since(self, since: float) -> list[tuple[float, float, bool, str]]:
        """The calls sent at or after ``since`` that failed."""
        return [result for result in self.results if result[0] >= since and not result[2]]

    def first_ok_sent_after(self, since: float) -> float | None:
        """When the first call sent at or after ``since`` that succeeded was answered (None: none yet)."""
        return next((answered for sent, answered, ok, _ in self.results if sent >= since and ok), None)

    def first_ok_answered_after(self, since: float) -> float | None:
        """When the first call answered at or after ``since`` succeeded (None: none yet)."""
        return min((answered for _, answered, ok, _ in self.results if answered >= since and ok), default=None)

    def slowest_since(self, since: float) -> float:
        """The longest a call sent at or after ``since`` waited for its answer."""
        return max((answered - sent for sent, answered, _, _ in self.results if sent >= since), default=0.0)


def sigkill_when_ready(argv: Sequence[str], ready: Path, timeout_s: float = 30.0) -> int:
    """Start ``argv`` in the repository (on ``PYTHONPATH``), SIGKILL it once it creates ``ready``; return its exit status.

    Fails the test when the child exits first or has not created ``ready`` after ``timeout_s``; the
    child is SIGKILLed and reaped either way. A child killed by SIGKILL returns ``-signal.SIGKILL``.
    """
    __tracebackhide__ = True
    child = subprocess.Popen(list(argv), cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        wait_for(lambda: ready.exists() or child.poll() is not None, timeout_s)
        assert child.poll() is None, f"child exited early with {child.returncode}"
        assert ready.exists(), f"child did not create {ready.name} within {timeout_s} s"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    return child.returncode


def observer_froze(report: dict) -> str | None:
    """Why ``report`` (a run's ``measurements.json`` / journal ``zerospof``) was not judged when the harness itself
    was not running (its machine starved it: the run measured the machine, not the lab), else None."""
    for condition in report.get("conditions", []):
        if condition["name"] == "observed-throughout" and not condition["passed"]:
            return condition["message"]
    return None


def judged(run: Callable[[], Any], report_of: Callable[[Any], dict], attempts: int = 2) -> Any:
    """``run()`` until its result was judged, at most ``attempts`` times: a run is repeated only when it was
    not judged because the harness itself froze (see :func:`observer_froze`); any verdict, and any other
    error, returns at once. A test asserting the lab passes then fails only on what the lab did."""
    for attempt in range(1, attempts + 1):
        result = run()
        why = observer_froze(report_of(result))
        if why is None or attempt == attempts:
            return result
        print(f"\nnot judged, run again ({attempt}/{attempts}): {why}")
    raise AssertionError("unreachable")
