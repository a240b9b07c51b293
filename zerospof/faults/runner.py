"""``injected``: the one way to apply a fault, with revert guaranteed on exit, exception and signals."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

from zerospof.errors import FaultNotInEffect
from zerospof.faults.base import Fault
from zerospof.faults.ledger import Ledger, LedgerRecord, RecordState, RevertReport
from zerospof.timeline import EventKind, Timeline

__all__ = ["Interrupted", "apply", "injected", "revert", "revert_leftovers", "revert_on_signals", "signals_held"]

_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived while a fault was in effect; raised so ``finally`` reverts it.

    A KeyboardInterrupt, so that ``except Exception`` does not swallow it and Chaos Toolkit
    treats it as an interruption (and plays the rollbacks).
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


@contextlib.contextmanager
def revert_on_signals() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into :class:`Interrupted` inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    def raise_interrupted(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)
    previous = {sig: signal.signal(sig, raise_interrupted) for sig in _HANDLED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM while reverting; the caller re-raises what arrived afterwards."""
    arrived: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield arrived
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: arrived.append(signum)) for sig in _HANDLED_SIGNALS}
    try:
        yield arrived
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _verify_until(fault: Fault, timeout_s: float, interval_s: float = 0.02) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fault.verify()
            return
        except FaultNotInEffect:
            if time.monotonic() >= deadline:
                raise
        time.sleep(interval_s)


def apply(
    fault: Fault,
    ledger: Ledger,
    *,
    timeline: Timeline | None = None,
    verify_timeout_s: float = 10.0,
    run_id: str | None = None,
) -> LedgerRecord:
    """Open a ledger record, inject ``fault`` and verify it is in effect; return the record.

    The caller owns the revert (``revert`` or ``Ledger.revert_open``): use ``injected`` unless
    the revert happens elsewhere, as in a Chaos Toolkit rollback. If injection or verification
    fails, the fault is reverted here before the error propagates.
    """
    source = fault.describe()
    record = ledger.open(fault, run_id=run_id)
    try:
        if timeline is not None:
            timeline.event(EventKind.FAULT_INJECTING, source, record=record.id)
        record.step(RecordState.INJECTING, fault)
        fault.inject()
        record.step(RecordState.INJECTED, fault)
        if timeline is not None:
            timeline.event(EventKind.FAULT_INJECTED, source, record=record.id)
        _verify_until(fault, verify_timeout_s)
        if timeline is not None:
            timeline.event(EventKind.FAULT_VERIFIED, source, record=record.id)
        record.step(RecordState.VERIFIED, fault)
    except BaseException:
        revert(record, fault, timeline=timeline)
        raise
    return record


def revert(record: LedgerRecord, fault: Fault, *, timeline: Timeline | None = None) -> None:
    """Revert ``fault`` and mark its record; SIGINT/SIGTERM arriving meanwhile are held, then raised."""
    source = fault.describe()
    with signals_held() as arrived:
        if timeline is not None:
            timeline.event(EventKind.FAULT_REVERTING, source, record=record.id)
        record.step(RecordState.REVERTING, fault)
        try:
            fault.revert()
        except Exception as exc:
            record.step(RecordState.REVERT_FAILED, fault, error=f"{type(exc).__name__}: {exc}")
            raise
        record.step(RecordState.REVERTED, fault)
        if timeline is not None:
            timeline.event(EventKind.FAULT_REVERTED, source, record=record.id)
    if arrived:
        raise Interrupted(arrived[0])


@contextlib.contextmanager
def injected(
    fault: Fault,
    *,
    ledger: Ledger | None = None,
    timeline: Timeline | None = None,
    verify_timeout_s: float = 10.0,
    run_id: str | None = None,
) -> Iterator[LedgerRecord]:
    """Inject ``fault``, verify it took effect, yield, and always revert.

    The ledger record is written (fsync'd) before anything changes and after every step.
    The timeline gets ``fault-injecting``, ``fault-injected``, ``fault-verified`` (t0),
    ``fault-reverting`` and ``fault-reverted`` events. SIGINT and SIGTERM inside the block
    raise :class:`Interrupted`, so the revert runs; signals arriving during the revert are
    held and re-delivered as :class:`Interrupted` once it is done. After SIGKILL the record
    stays open for ``zerospof revert``.
    """
    ledger = ledger if ledger is not None else Ledger()
    with revert_on_signals():
        record = apply(fault, ledger, timeline=timeline, verify_timeout_s=verify_timeout_s, run_id=run_id)
        try:
            yield record
        finally:
            revert(record, fault, timeline=timeline)


def revert_leftovers(ledger: Ledger, run_id: str) -> list[RevertReport]:
    """Revert every record of ``run_id`` still open, whatever the experiment's rollbacks did (``rollbacks: []``).

    The safety net at the end of a run. SIGINT/SIGTERM are held meanwhile and then raised.
    """
    with signals_held() as arrived:
        reports = ledger.revert_open(run_id)
    if arrived:
        raise Interrupted(arrived[0])
    return reports
