"""``AllOf``: children injected in order, reverted in reverse, each revert attempted, rebuilt from the record alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from zerospof.errors import FaultError, FaultNotInEffect
from zerospof.faults import Fault, Ledger, apply, injected
from zerospof.faults.composite import AllOf


class Flag(Fault):
    """A test fault: a file exists while it is in effect. Appends each step to the ``journal`` file."""

    kind = "flag"

    def _note(self, step: str) -> None:
        with open(self.params["journal"], "a") as journal:
            journal.write(f"{step} {Path(self.params['path']).name}\n")

    def prepare(self) -> None:
        self.undo["existed"] = Path(self.params["path"]).exists()

    def inject(self) -> None:
        self._note("inject")
        Path(self.params["path"]).touch()
        self.undo["created"] = True
        self.checkpoint()

    def verify(self) -> None:
        if not Path(self.params["path"]).exists():
            raise FaultNotInEffect(self.params["path"])

    def revert(self) -> None:
        self._note("revert")
        if self.params.get("fail_revert"):
            raise FaultError(f"cannot revert {self.params['path']}")
        if self.undo.get("created") and not self.undo.get("existed"):
            Path(self.params["path"]).unlink(missing_ok=True)


def flags(tmp_path: Path, *names: str, **extra) -> list[Flag]:
    return [Flag({"path": str(tmp_path / name), "journal": str(tmp_path / "journal"), **extra.get(name, {})})
            for name in names]


def journal(tmp_path: Path) -> list[str]:
    return (tmp_path / "journal").read_text().splitlines()


def test_children_are_injected_in_order_and_reverted_in_reverse(tmp_path):
    with injected(AllOf.of(flags(tmp_path, "a", "b")), ledger=Ledger(tmp_path / "ledger")):
        assert (tmp_path / "a").exists() and (tmp_path / "b").exists()
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert journal(tmp_path) == ["inject a", "inject b", "revert b", "revert a"]


def test_the_record_alone_rebuilds_every_child_and_reverts_it(tmp_path):
    ledger = Ledger(tmp_path / "ledger", trusted_modules=("zerospof.", "tests."))  # Flag is a test fault
    apply(AllOf.of(flags(tmp_path, "a", "b")), ledger, run_id="killed")
    [record] = ledger.open_records("killed")  # the objects are gone: only the record is left, as after SIGKILL
    assert record.data["undo"] == {"children": [{"existed": False, "created": True}] * 2}

    assert [report.reverted for report in ledger.revert_open("killed")] == [True]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert ledger.revert_open("killed") == []  # nothing left open
    AllOf(record.data["params"], record.data["undo"]).revert()  # and reverting again changes nothing
    assert not (tmp_path / "a").exists()


def test_a_child_that_fails_to_revert_does_not_stop_the_others_and_is_reported(tmp_path):
    fault = AllOf.of(flags(tmp_path, "a", "b", b={"fail_revert": True}))
    with pytest.raises(FaultError, match="cannot revert .*b"):
        with injected(fault, ledger=Ledger(tmp_path / "ledger")):
            pass
    assert not (tmp_path / "a").exists()  # a was still reverted
    assert journal(tmp_path)[-2:] == ["revert b", "revert a"]
    assert [r.state for r in Ledger(tmp_path / "ledger").records()] == ["revert-failed"]
