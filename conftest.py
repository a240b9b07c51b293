"""Fixtures shared by the suite's tests and the scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from zerospof.faults import Ledger
from zerospof.objectives import Objectives, load_objectives
from zerospof.timeline import Timeline

REPO = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def objectives() -> Objectives:
    """The repository's objectives file, validated."""
    return load_objectives(REPO / "objectives.yaml")


@pytest.fixture
def timeline() -> Timeline:
    """A fresh timeline for one test."""
    return Timeline()


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """A ledger in the test's own directory, so tests never see each other's records."""
    return Ledger(tmp_path / "ledger")
