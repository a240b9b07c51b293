"""The timeline: append-only, ordered, and JSON Lines round-trips."""

from __future__ import annotations

import pytest

from zerospof.timeline import EventKind, Timeline


def test_timeline_round_trips_through_json_lines(tmp_path):
    timeline = Timeline()
    timeline.record("http", True, {"status": 200}, t_mono=2.0)
    timeline.record("http", False, error="refused", t_mono=1.0)
    timeline.event(EventKind.FAULT_VERIFIED, "az-loss", t_mono=1.5, record="abc")
    path = timeline.write_jsonl(tmp_path / "timeline.jsonl")
    again = Timeline.read_jsonl(path)
    assert again.samples == timeline.samples
    assert again.events == timeline.events
    assert [s.t_mono for s in again.samples] == [1.0, 2.0]
    assert again.t0() == 1.5


def test_t0_is_none_when_the_fault_was_never_verified():
    timeline = Timeline()
    timeline.event(EventKind.FAULT_INJECTED, t_mono=1.0)
    assert timeline.t0() is None


def test_unknown_rows_are_refused():
    with pytest.raises(ValueError, match="line 1"):
        Timeline.from_jsonl('{"type": "gossip"}\n')
