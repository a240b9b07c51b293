"""Ledger records: what a fault changed, written and fsync'd before anything changes.

One JSON file per fault under the ledger directory (``$ZEROSPOF_LEDGER_DIR``, else
``~/.local/state/zerospof/ledger``; always made absolute). A record is *open* until its fault is
reverted; :meth:`Ledger.revert_open` replays every open record, which is what
``zerospof revert`` does after a run was killed.

A record is only acted on when it is well formed, names fault classes of zerospof's own
(:data:`TRUSTED_FAULT_MODULES`; nothing else named in a file is imported) and the fault agrees
that the caller may revert it (``Fault.check_revert_allowed``: the same AWS account as when it was
recorded). Every other file is reported with the reason and left alone. Records are written 0600.
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

__all__ = ["TRUSTED_FAULT_MODULES", "Ledger", "LedgerProblem", "LedgerRecord", "RecordState", "RevertReport",
           "default_ledger_dir"]

TRUSTED_FAULT_MODULES = ("zerospof.",)
MAX_RECORD_BYTES = 10_000_000


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
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:  # 0600: undo data is private
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

    def fault(self, trusted_modules: tuple[str, ...] = TRUSTED_FAULT_MODULES) -> Fault:
        """Rebuild the fault from this record alone; FaultError when it names a class outside ``trusted_modules``."""
        untrusted = [path for path in _fault_paths(self.data) if not _trusted(path, trusted_modules)]
        if untrusted:
            raise FaultError(f"names fault class(es) {untrusted} that are not zerospof's own: refusing to load them")
        fault = load_fault(self.data["fault"], self.data["params"], self.data["undo"])
        if not _trusted(fault_class_path(fault), trusted_modules):
            raise FaultError(f"{self.data['fault']!r} resolves to {fault_class_path(fault)!r}, not zerospof's own")
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


def _fault_paths(data: dict[str, Any]) -> list[object]:
    """Every ``module:Class`` a record names: its fault and, for a composite, its children's (nested)."""
    found: list[object] = []
    stack = [data]
    while stack and len(found) < 10_000:  # bounded: a record is small
        item = stack.pop()
        found.append(item.get("fault"))
        params = item.get("params")
        children = params.get("children") if isinstance(params, dict) else None
        if isinstance(children, list):
            stack.extend(child for child in children if isinstance(child, dict))
    return found


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique (a record naming ``state`` twice is not one)."""
    data = dict(pairs)
    if len(data) != len(pairs):
        duplicated = sorted({key for key, _ in pairs if sum(1 for other, _ in pairs if other == key) > 1})
        raise ValueError(f"duplicate key(s) {duplicated}")
    return data


def _trusted(class_path: object, trusted_modules: tuple[str, ...]) -> bool:
    return isinstance(class_path, str) and class_path.startswith(trusted_modules) and ":" in class_path


_FIELDS: dict[str, type | tuple[type, ...]] = {"id": str, "fault": str, "description": str, "params": dict,
                                               "undo": dict, "state": str, "steps": list}


def _malformed(data: object) -> str | None:
    """Why ``data`` is not a usable ledger record, or None."""
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}"
    for name, kind in _FIELDS.items():
        if name not in data:
            return f"missing {name!r}"
        if not isinstance(data[name], kind):
            return f"{name!r} is a {type(data[name]).__name__}, expected a {getattr(kind, '__name__', kind)}"
    if data["state"] not in set(RecordState):
        return f"unknown state {data['state']!r}; expected one of {[str(s) for s in RecordState]}"
    if data.get("run_id") is not None and not isinstance(data["run_id"], str):
        return "'run_id' is not a string"
    if "identity" in data and not isinstance(data["identity"], dict):
        return "'identity' is not an object"
    return None


@dataclass(frozen=True)
class LedgerProblem:
    """A file in the ledger directory that is not a usable record, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class RevertReport:
    """What replaying one open record (or meeting one unusable file) did.

    ``reverted`` False with ``error``: the fault could not be reverted, or the record was refused
    (``refused``) and left alone. ``ledger_error``: reverted, but the record could not be updated
    (it stays open; reverting again is harmless).
    """

    record_id: str
    description: str
    state_before: str
    reverted: bool
    error: str | None = None
    refused: bool = False
    ledger_error: str | None = None
    file: str = ""  # the record's file name in the ledger directory

    @property
    def handled(self) -> bool:
        """True when the fault is reverted and its record says so."""
        return self.reverted and self.ledger_error is None


class Ledger:
    """A directory of ledger records."""

    def __init__(self, directory: str | Path | None = None,
                 trusted_modules: tuple[str, ...] = TRUSTED_FAULT_MODULES) -> None:
        self.directory = Path(directory).expanduser().resolve() if directory is not None else default_ledger_dir()
        self.trusted_modules = tuple(trusted_modules)

    def open(self, fault: Fault, run_id: str | None = None) -> LedgerRecord:
        """Write a record for ``fault``, capture its original state, and save again; change nothing."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
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
            record.data["identity"] = fault.identity()  # whose resources: revert checks the caller against it
        except BaseException as exc:  # nothing was changed: close the record, keep the reason
            record.step(RecordState.REVERTED, fault, error=f"prepare failed, nothing changed: {exc}")
            raise
        record.step(RecordState.PREPARED, fault)
        return record

    def scan(self) -> tuple[list[LedgerRecord], list[LedgerProblem]]:
        """Every well-formed record in the directory (oldest first) and every ``*.json`` file that is not one."""
        if not self.directory.is_dir():
            return [], []
        found, problems = [], []
        for path in sorted(self.directory.glob("*.json")):
            try:
                with open(path, "rb") as handle:
                    raw = handle.read(MAX_RECORD_BYTES + 1)
                if len(raw) > MAX_RECORD_BYTES:
                    raise ValueError(f"larger than {MAX_RECORD_BYTES} bytes")
                data = json.loads(raw, object_pairs_hook=_unique_keys)
            except (OSError, ValueError) as exc:
                problems.append(LedgerProblem(path, f"unreadable: {exc}"))
                continue
            reason = _malformed(data)
            if reason is not None:
                problems.append(LedgerProblem(path, f"not a ledger record: {reason}"))
            else:
                found.append(LedgerRecord(path, data))
        return found, problems

    def records(self) -> list[LedgerRecord]:
        """Every well-formed record in the directory, oldest first (:meth:`scan` names the other files)."""
        return self.scan()[0]

    def open_records(self, run_id: str | None = None) -> list[LedgerRecord]:
        """Records whose fault is not known to be reverted (of one run, when ``run_id`` is given)."""
        return [record for record in self.records()
                if record.is_open and (run_id is None or record.data.get("run_id") == run_id)]

    def run_records(self, run_id: str) -> list[LedgerRecord]:
        """Every record of one run, oldest first."""
        return [record for record in self.records() if record.data.get("run_id") == run_id]

    def revert_open(self, run_id: str | None = None) -> list[RevertReport]:
        """Revert every open record (of one run), newest first; report each, never stopping at one.

        Without ``run_id`` every file that is not a usable record is reported too (refused), so a
        damaged or foreign file never hides a real open fault.
        """
        records, problems = self.scan()
        reports = [RevertReport("?", "?", "?", False, problem.reason, refused=True, file=problem.path.name)
                   for problem in problems if run_id is None]
        for record in reversed(records):
            if record.is_open and (run_id is None or record.data.get("run_id") == run_id):
                reports.append(self._revert_record(record))
        return reports

    def _revert_record(self, record: LedgerRecord) -> RevertReport:
        before, description = record.data["state"], record.data["description"]
        try:
            fault = record.fault(self.trusted_modules)
            fault.check_revert_allowed(record.data.get("identity", {}))
        except Exception as exc:  # noqa: BLE001 - refused: reported, the record is left as it is
            return RevertReport(record.id, description, before, False, f"refused: {exc}", refused=True,
                                file=record.path.name)
        unsaved: list[str] = []

        def save(state: RecordState, error: str | None = None) -> None:
            try:
                record.step(state, fault, error=error)
            except OSError as exc:  # e.g. a read-only ledger directory: the revert itself goes on
                unsaved.append(f"could not update {record.path}: {exc.strerror or exc}")

        save(RecordState.REVERTING)
        try:
            fault.revert()
        except Exception as exc:  # noqa: BLE001 - reported per record, the others still run
            save(RecordState.REVERT_FAILED, error=f"{type(exc).__name__}: {exc}")
            return RevertReport(record.id, description, before, False, str(exc), file=record.path.name)
        save(RecordState.REVERTED)
        return RevertReport(record.id, description, before, True, ledger_error=unsaved[0] if unsaved else None,
                            file=record.path.name)
