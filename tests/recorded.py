"""Recorded real game-day runs (``tests/fixtures/``), unpacked into a temporary directory for a test."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

__all__ = ["FIXTURES", "RUN_IDS", "recorded_reports", "recorded_lab_logs"]

FIXTURES = Path(__file__).parent / "fixtures"
RUN_IDS = tuple(sorted(p.name for p in (FIXTURES / "runs").iterdir() if p.name[:1].isdigit()))


def _unpack(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination)
    for packed in destination.rglob("*.gz"):
        packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
        packed.unlink()
    return destination


def recorded_reports(tmp_path: Path, run_ids: tuple[str, ...] = RUN_IDS, name: str = "reports") -> Path:
    """A reports directory under ``tmp_path`` holding the recorded runs ``run_ids`` and their ledger records."""
    reports = tmp_path / name
    reports.mkdir()
    for run_id in run_ids:
        _unpack(FIXTURES / "runs" / run_id, reports / run_id)
    _unpack(FIXTURES / "runs" / "ledger", reports / "ledger")
    return reports


def recorded_lab_logs(tmp_path: Path) -> Path:
    """The recorded lab component logs, unpacked under ``tmp_path``."""
    return _unpack(FIXTURES / "lab-logs", tmp_path / "lab-logs")
