"""Faults: inject / verify / revert, linked to their revert only through a ledger record on disk."""

from zerospof.faults.base import Fault, fault_class_path, load_fault
from zerospof.faults.ledger import Ledger, LedgerRecord, RevertReport, default_ledger_dir
from zerospof.faults.runner import Interrupted, apply, injected, revert

__all__ = [
    "Fault",
    "Interrupted",
    "Ledger",
    "LedgerRecord",
    "RevertReport",
    "default_ledger_dir",
    "fault_class_path",
    "apply",
    "injected",
    "revert",
    "load_fault",
]
