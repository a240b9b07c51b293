"""Fixtures for the lab tests: the lab comes up once per module and always goes down."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zerospof.errors import LabError
from zerospof.lab import Lab, leftovers, preflight

STATE_DIR = Path(os.environ.get("ZEROSPOF_LAB_TEST_DIR", "/var/tmp/zerospof-lab-test"))
_LAB_USED: list[bool] = []  # set when a test of this session brought a lab up (the safety net acts only then)


def _require_lab_prerequisites() -> None:
    try:
        preflight.check()
    except LabError as exc:
        pytest.fail(f"lab prerequisites missing (bin/setup installs them): {exc}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A running, healthy lab for the module's tests; torn down afterwards whatever happened."""
    _require_lab_prerequisites()
    _LAB_USED.append(True)
    instance = Lab(STATE_DIR)
    try:
        result = instance.up(timeout_s=90)
        print(f"\nlab up in {result['up_s']}s")
        yield instance
    finally:
        instance.down()


@pytest.fixture
def lab_dir() -> Path:
    """The state dir the lifecycle tests use (they bring the lab up and down themselves)."""
    _require_lab_prerequisites()
    _LAB_USED.append(True)
    return STATE_DIR


def wait_until_clean(timeout_s: float = 10.0) -> dict[str, list[object]]:
    """Poll (bounded) until nothing of the lab is left; return the last finding."""
    found = leftovers.find(STATE_DIR)
    for _ in range(int(timeout_s / 0.2)):
        if not any(found.values()):
            break
        time.sleep(0.2)
        found = leftovers.find(STATE_DIR)
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Safety net: if a lab test of this session crashed between up and down, remove what is left.

    A session that ran only unit tests leaves alone a lab it did not start (another run's).
    """
    if _LAB_USED and os.geteuid() == 0 and leftovers.find()["namespaces"]:
        Lab(STATE_DIR).down()
