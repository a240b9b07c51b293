"""The fault framework against a real link in a network namespace the test creates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zerospof.errors import FaultError, FaultNotInEffect
from zerospof.faults import Fault, Interrupted, Ledger, injected
from zerospof.faults.ledger import RecordState
from zerospof.faults.link import LinkDown, link_is_up
from zerospof.timeline import EventKind, Timeline
from tests.helpers import needs_root, scratch_namespace

pytestmark = needs_root
DEVICE = "zsdummy0"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def namespace():
    with scratch_namespace(DEVICE) as name:
        yield name


def link_down_fault(namespace: str) -> LinkDown:
    return LinkDown({"links": [{"namespace": namespace, "device": DEVICE}]})


def test_link_is_down_inside_the_block_and_up_after_it(namespace, ledger):
    timeline = Timeline()
    with injected(link_down_fault(namespace), ledger=ledger, timeline=timeline) as record:
        assert link_is_up(namespace, DEVICE) is False
        assert record.state is RecordState.VERIFIED
    assert link_is_up(namespace, DEVICE) is True
    assert [r.state for r in ledger.records()] == [RecordState.REVERTED]
    kinds = [event.kind for event in timeline.events]
    assert kinds == [EventKind.FAULT_INJECTING, EventKind.FAULT_INJECTED, EventKind.FAULT_VERIFIED,
                     EventKind.FAULT_REVERTING, EventKind.FAULT_REVERTED]
    assert timeline.t0() == timeline.first_event(EventKind.FAULT_VERIFIED).t_mono


def test_exception_inside_the_block_reverts_and_propagates(namespace, ledger):
    with pytest.raises(RuntimeError, match="boom"):
        with injected(link_down_fault(namespace), ledger=ledger):
            raise RuntimeError("boom")
    assert link_is_up(namespace, DEVICE) is True
    assert not ledger.open_records()


def test_ledger_record_is_on_disk_before_the_fault_changes_anything(namespace, ledger):
    seen_on_disk: list[dict] = []

    class Spy(LinkDown):
        def inject(self) -> None:
            seen_on_disk.extend(json.loads(p.read_text()) for p in ledger.directory.glob("*.json"))
            super().inject()

    with injected(Spy(link_down_fault(namespace).params), ledger=ledger):
        pass
    (record,) = seen_on_disk
    assert record["state"] == "injecting"
    assert record["undo"]["was_up"] == [{"namespace": namespace, "device": DEVICE}]


def test_a_fault_that_never_takes_effect_is_reported_and_reverted(namespace, ledger):
    class NeverInEffect(LinkDown):
        def inject(self) -> None:
            pass

    with pytest.raises(FaultNotInEffect):
        with injected(NeverInEffect(link_down_fault(namespace).params), ledger=ledger, verify_timeout_s=0.2):
            pytest.fail("the block must not run when the fault is not in effect")
    assert not ledger.open_records()


def test_revert_is_idempotent_and_restores_only_links_that_were_up(namespace, ledger):
    subprocess.run(["ip", "-n", namespace, "link", "add", "zsdummy1", "type", "veth", "peer", "name", "zsdummy1p"],
                   check=True)
    fault = LinkDown({"links": [{"namespace": namespace, "device": DEVICE},
                                {"namespace": namespace, "device": "zsdummy1"}]})
    with injected(fault, ledger=ledger):
        pass
    fault.revert()
    assert link_is_up(namespace, DEVICE) is True
    assert link_is_up(namespace, "zsdummy1") is False


def test_missing_link_fails_before_anything_changes(namespace, ledger):
    fault = LinkDown({"links": [{"namespace": namespace, "device": DEVICE},
                                {"namespace": namespace, "device": "nosuchlink"}]})
    with pytest.raises(FaultError, match="do not exist"):
        with injected(fault, ledger=ledger):
            pass
    assert link_is_up(namespace, DEVICE) is True
    assert not ledger.open_records()


def test_a_record_whose_fault_class_is_gone_is_reported_not_skipped(ledger):
    class Gone(Fault):
        def inject(self) -> None: ...
        def verify(self) -> None: ...
        def revert(self) -> None: ...

    record = ledger.open(Gone({}))
    record.data["fault"] = "zerospof.no_such_module:Gone"
    record.save()
    (report,) = ledger.revert_open()
    assert report.reverted is False and report.refused and "no_such_module" in report.error
    assert ledger.open_records()[0].state is RecordState.PREPARED  # left as it is, still open: never skipped


CHILD = textwrap.dedent("""
    import sys, time
    from zerospof.faults import Ledger, injected
    from zerospof.faults.link import LinkDown
    fault = LinkDown({"links": [{"namespace": sys.argv[1], "device": sys.argv[2]}]})
    with injected(fault, ledger=Ledger(sys.argv[3])):
        print("in-effect", flush=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.05)
    print("block-ended", flush=True)
""")


def run_child_and_signal(namespace: str, ledger: Ledger, signum: int) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", CHILD, namespace, DEVICE, str(ledger.directory)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert child.stdout.readline().strip() == "in-effect"
    assert link_is_up(namespace, DEVICE) is False
    os.kill(child.pid, signum)
    child.wait(timeout=15)
    child.stderr_text = child.stderr.read()
    return child


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_the_block_reverts_the_fault(namespace, ledger, signum):
    child = run_child_and_signal(namespace, ledger, signum)
    assert child.returncode != 0
    assert "Interrupted" in child.stderr_text
    assert link_is_up(namespace, DEVICE) is True
    assert [r.state for r in ledger.records()] == [RecordState.REVERTED]


def test_sigkill_leaves_an_open_record_that_zerospof_revert_undoes(namespace, ledger):
    run_child_and_signal(namespace, ledger, signal.SIGKILL)
    assert link_is_up(namespace, DEVICE) is False
    assert [r.state for r in ledger.open_records()] == [RecordState.VERIFIED]

    revert = [sys.executable, "-m", "zerospof.cli", "revert", "--ledger", str(ledger.directory)]
    first = subprocess.run(revert, capture_output=True, text=True, cwd=REPO, timeout=30)
    assert first.returncode == 0, first.stderr
    assert "reverted" in first.stdout and "link-down" in first.stdout
    assert link_is_up(namespace, DEVICE) is True

    second = subprocess.run(revert, capture_output=True, text=True, cwd=REPO, timeout=30)
    assert "nothing to revert" in second.stdout


def test_interrupted_is_not_swallowed_by_except_exception_but_is_an_interruption():
    assert not issubclass(Interrupted, Exception)
    assert issubclass(Interrupted, KeyboardInterrupt)


def test_revert_after_the_namespace_is_gone_succeeds(ledger):
    with scratch_namespace(DEVICE) as name:
        record = ledger.open(LinkDown({"links": [{"namespace": name, "device": DEVICE}]}))
        subprocess.run(["ip", "-n", name, "link", "set", DEVICE, "down"], check=True)
    (report,) = ledger.revert_open()
    assert report.reverted, report.error
    assert record.id == report.record_id
