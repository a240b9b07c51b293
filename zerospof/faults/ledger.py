"""Ledger records: what a fault changed, written and fsync'd before anything changes.

One JSON file per fault under the ledger directory (``$ZEROSPOF_LEDGER_DIR``, else
``~/.local/state/zerospof/ledger``; always made absolute). A record is *open* until its fault is
reverted; :meth:`Ledger.revert_open` replays every open record, which is what
``zerospof revert`` does after a run was killed.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from zerospof.errors import FaultError
from zerospof.faults.base import Fault, fault_class_path, load_fault
from zerospof.faults.ledger_mirror import mirror_record

__all__ = ["Ledger", "LedgerRecord", "RecordState", "RevertReport", "default_ledger_dir"]


class RecordState(StrEnum):
    """Where a fault is in its life; every state but ``reverted`` is open."""

    OPENED = "opened"  # params written, original state not yet captured
    PREPARED = "prepared"  # original state captured; nothing changed yet
    INJECTING = "injecting"
    INJECTED = "injected"
    VERIFIED = "verified"
    REVERTING = "reverting"
    REVERTED = "reverted"
    REVERT_FAILED = "revert-failed"


def default_ledger_dir() -> Path:
    """Return ``$ZEROSPOF_LEDGER_DIR`` or ``$XDG_STATE_HOME/zerospof/ledger`` (``~/.local/state/...``), absolute.

    Never relative to the working directory: ``zerospof revert`` run from anywhere finds the same ledger.
    """
    configured = os.environ.get("ZEROSPOF_LEDGER_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return (Path(state) / "zerospof" / "ledger").resolve()


def _write_durably(path: Path, payload: dict[str, Any]) -> None:
    """Replace ``path`` atomically with ``payload`` and fsync both the file and its directory."""
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    with open(tmp, "w") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass
class LedgerRecord:
    """One fault's record; :meth:`save` after every change of state or undo data."""

    path: Path
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def state(self) -> RecordState:
        return RecordState(self.data["state"])

    @property
    def is_open(self) -> bool:
        return self.state is not RecordState.REVERTED

    def fault(self) -> Fault:
        """Rebuild the fault from this record alone."""
        fault = load_fault(self.data["fault"], self.data["params"], self.data["undo"])
        self.attach(fault)
        return fault

    def attach(self, fault: Fault) -> None:
        """Make ``fault.checkpoint()`` persist its undo data into this record."""
        def checkpoint() -> None:
            self.data["undo"] = fault.undo
            self.save()
        fault.bind_checkpoint(checkpoint)

    def step(self, state: RecordState, fault: Fault | None = None, error: str | None = None) -> None:
        """Move to ``state`` (keeping ``fault.undo`` current) and save durably."""
        if fault is not None:
            self.data["undo"] = fault.undo
        self.data["state"] = str(state)
        entry: dict[str, Any] = {"state": str(state), "t_wall": time.time(), "t_mono": time.monotonic()}
        if error:
            entry["error"] = error
        self.data["steps"].append(entry)
        self.save()

    def save(self) -> None:
        _write_durably(self.path, self.data)
        mirror_record(self.path, self.data, strict=self.data["state"] == RecordState.OPENED)


@dataclass(frozen=True)
class RevertReport:
    """What replaying one open record did."""

    record_id: str
    description: str
    state_before: str
    reverted: bool
    error: str | None = None


class Ledger:
    """A directory of ledger records."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory).expanduser().resolve() if directory is not None else default_ledger_dir()

    def open(self, fault: Fault, run_id: str | None = None) -> LedgerRecord:
        """Write a record for ``fault``, capture its original state, and save again; change nothing."""
        self.directory.mkdir(parents=True, exist_ok=True)
        record_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        record = LedgerRecord(
            self.directory / f"{record_id}.json",
            {
                "id": record_id,
                "run_id": run_id,
                "fault": fault_class_path(fault),
                "kind": fault.kind,
                "description": fault.describe(),
                "params": fault.params,
                "undo": fault.undo,
                "state": str(RecordState.OPENED),
                "steps": [{"state": str(RecordState.OPENED), "t_wall": time.time(), "t_mono": time.monotonic()}],
                "host": socket.gethostname(),
                "pid": os.getpid(),
            },
        )
        record.save()
        record.attach(fault)
        try:
            fault.prepare()
        except BaseException as exc:  # nothing was changed: close the record, keep the reason
            record.step(RecordState.REVERTED, fault, error=f"prepare failed, nothing changed: {exc}")
            raise
        record.step(RecordState.PREPARED, fault)
        return record

    def records(self) -> list[LedgerRecord]:
        """Every record in the directory, oldest first; unreadable files raise FaultError."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                found.append(LedgerRecord(path, json.loads(path.read_text())))
            except (OSError, ValueError) as exc:
                raise FaultError(f"{path}: unreadable ledger record: {exc}") from exc
        return found

    def open_records(self, run_id: str | None = None) -> list[LedgerRecord]:
        """Records whose fault is not known to be reverted (of one run, when ``run_id`` is given)."""
        return [record for record in self.records()
                if record.is_open and (run_id is None or record.data.get("run_id") == run_id)]

    def run_records(self, run_id: str) -> list[LedgerRecord]:
        """Every record of one run, oldest first."""
        return [record for record in self.records() if record.data.get("run_id") == run_id]

    def revert_open(self, run_id: str | None = None) -> list[RevertReport]:
        """Revert every open record (of one run), newest first; report each, never stopping at a failure."""
        reports = []
        for record in reversed(self.open_records(run_id)):
            before = record.data["state"]
            try:
                fault = record.fault()
                record.step(RecordState.REVERTING, fault)
                fault.revert()
                record.step(RecordState.REVERTED, fault)
                reports.append(RevertReport(record.id, record.data["description"], before, True))
            except Exception as exc:  # noqa: BLE001 - reported per record, the others still run
                record.step(RecordState.REVERT_FAILED, error=f"{type(exc).__name__}: {exc}")
                reports.append(RevertReport(record.id, record.data["description"], before, False, str(exc)))
        return reports
