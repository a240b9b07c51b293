"""Recorded real game-day runs (``tests/fixtures/``), unpacked into a temporary directory for a test."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

__all__ = ["FIXTURES", "RUN_IDS", "SWEEP_IDS", "recorded_reports", "recorded_lab_logs"]

FIXTURES = Path(__file__).parent / "fixtures"
_RECORDED = sorted(p.name for p in (FIXTURES / "runs").iterdir() if p.name[:1].isdigit())
RUN_IDS = tuple(name for name in _RECORDED if not name.endswith("-spof"))  # game days (`zerospof run`)
SWEEP_IDS = tuple(name for name in _RECORDED if name.endswith("-spof"))  # SPOF sweeps (`zerospof spof`)


def _unpack(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination)
    for packed in destination.rglob("*.gz"):
        packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
        packed.unlink()
    return destination


def recorded_reports(tmp_path: Path, run_ids: tuple[str, ...] = RUN_IDS, name: str = "reports",
                     sweep_ids: tuple[str, ...] = ()) -> Path:
    """A reports directory under ``tmp_path`` holding the recorded runs ``run_ids``, sweeps ``sweep_ids`` and
    the ledger records."""
    reports = tmp_path / name
    reports.mkdir()
    for run_id in run_ids + sweep_ids:
        _unpack(FIXTURES / "runs" / run_id, reports / run_id)
    _unpack(FIXTURES / "runs" / "ledger", reports / "ledger")
    return reports


def recorded_lab_logs(tmp_path: Path) -> Path:
    """The recorded lab component logs, unpacked under ``tmp_path``."""
    return _unpack(FIXTURES / "lab-logs", tmp_path / "lab-logs")
