"""Fixtures for the control-plane and GitOps tests: real processes on 127.0.0.1, always stopped.

Measured figures (detection, takeover, deployment delay) are collected with the ``figure``
fixture and printed in the terminal summary.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

FIGURES: list[tuple[str, float, str]] = []


@pytest.fixture
def figure() -> Callable[[str, float, str], None]:
    """Record one measured figure: ``figure("etcd new leader after kill", 0.61, "s")``."""
    def record(name: str, value: float, unit: str = "s") -> None:
        FIGURES.append((name, round(value, 3), unit))
    return record


@pytest.fixture(scope="session")
def lab_tools() -> None:
    """Skip unless etcd, git and haproxy are installed."""
    missing = [tool for tool in ("etcd", "git", "haproxy") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"missing tools: {missing}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("lab part 2: measured figures")
        for name, value, unit in FIGURES:
            terminalreporter.write_line(f"{name}: {value} {unit}")
