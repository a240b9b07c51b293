"""An append-only record of what happened during a run: probe samples and events.

Times are kept twice: ``t_mono`` (``time.monotonic()``, the only clock durations are taken from)
and ``t_wall`` (``time.time()``, for display and for correlating with component logs).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

__all__ = ["EventKind", "Sample", "Event", "Timeline"]


class EventKind(StrEnum):
    """Kinds of event a run records; measurement reads these by name."""

    FAULT_INJECTING = "fault-injecting"
    FAULT_INJECTED = "fault-injected"
    FAULT_VERIFIED = "fault-verified"  # t0: the fault is in effect
    FAULT_REVERTING = "fault-reverting"
    FAULT_REVERTED = "fault-reverted"
    CANARY_COMMIT = "canary-commit"  # GitOps canary pushed a revision; data: {"revision": ...}
    CANARY_READBACK = "canary-readback"  # write canary read back; data: {"probe", "present_seqs"}
    ABORTED = "aborted"  # the abort guard ended the fault early
    FAIL_BACK = "fail-back"  # after the revert, zerospof began restoring the reference state (e.g. a switchover)
    NOTE = "note"


@dataclass(frozen=True)
class Sample:
    """One probe call: when it finished, whether it succeeded, what it saw.

    Detection-signal probes put ``{"detected": bool, ...}`` in ``value``;
    the write canary puts ``{"seq": n}`` on acknowledged writes. ``latency_s``: how long the
    call took (seconds, the sampler's own clock: what a user waited), None when not timed.
    """

    probe: str
    t_mono: float
    t_wall: float
    ok: bool
    value: Any = None
    error: str | None = None
    latency_s: float | None = None


@dataclass(frozen=True)
class Event:
    """Something that happened at one instant (a fault step, a canary commit)."""

    kind: str
    t_mono: float
    t_wall: float
    source: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class Timeline:
    """Thread-safe, append-only list of samples and events, serialisable to JSON Lines."""

    def __init__(self, samples: Iterable[Sample] = (), events: Iterable[Event] = ()) -> None:
        self._lock = threading.Lock()
        self._samples: list[Sample] = list(samples)
        self._events: list[Event] = list(events)

    # -- writing -----------------------------------------------------------------
    def add_sample(self, sample: Sample) -> None:
        """Append ``sample``."""
        with self._lock:
            self._samples.append(sample)

    def record(self, probe: str, ok: bool, value: Any = None, error: str | None = None,
               t_mono: float | None = None, latency_s: float | None = None) -> Sample:
        """Append a sample taken now (or at ``t_mono``) and return it."""
        sample = Sample(probe, time.monotonic() if t_mono is None else t_mono, time.time(), ok, value, error,
                        latency_s)
        self.add_sample(sample)
        return sample

    def event(self, kind: str, source: str = "", t_mono: float | None = None, t_wall: float | None = None,
              **data: Any) -> Event:
        """Append an event that happens now (or happened at ``t_mono`` / ``t_wall``) and return it."""
        event = Event(str(kind), time.monotonic() if t_mono is None else t_mono,
                      time.time() if t_wall is None else t_wall, source, data)
        with self._lock:
            self._events.append(event)
        return event

    # -- reading -----------------------------------------------------------------
    @property
    def samples(self) -> list[Sample]:
        """All samples, ordered by ``t_mono``."""
        with self._lock:
            return sorted(self._samples, key=lambda s: s.t_mono)

    @property
    def events(self) -> list[Event]:
        """All events, ordered by ``t_mono``."""
        with self._lock:
            return sorted(self._events, key=lambda e: e.t_mono)

    def samples_of(self, probe: str) -> list[Sample]:
        """Samples of one probe, ordered by ``t_mono``."""
        return [s for s in self.samples if s.probe == probe]

    def probes(self) -> list[str]:
        """Names of every probe that has samples, in first-seen order."""
        return list(dict.fromkeys(s.probe for s in self.samples))

    def first_event(self, kind: str, after: float | None = None) -> Event | None:
        """Return the earliest event of ``kind`` (at or after ``after``), or None."""
        for event in self.events:
            if event.kind == kind and (after is None or event.t_mono >= after):
                return event
        return None

    def until(self, t_mono: float) -> Timeline:
        """A new timeline of the samples taken before ``t_mono`` and every event (for a measurement scope)."""
        return Timeline([s for s in self.samples if s.t_mono < t_mono], self.events)

    def t0(self) -> float | None:
        """Monotonic time the fault was verified in effect, or None if it never was."""
        event = self.first_event(EventKind.FAULT_VERIFIED)
        return None if event is None else event.t_mono

    # -- serialisation -------------------------------------------------------------
    def to_jsonl(self) -> str:
        """Serialise as JSON Lines, one ``{"type": "sample"|"event", ...}`` object per line."""
        rows = [{"type": "sample", **asdict(s)} for s in self.samples]
        rows += [{"type": "event", **asdict(e)} for e in self.events]
        rows.sort(key=lambda row: row["t_mono"])
        return "".join(json.dumps(row, default=str) + "\n" for row in rows)

    def write_jsonl(self, path: str | Path) -> Path:
        """Write :meth:`to_jsonl` to ``path`` and return it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_jsonl())
        return path

    @classmethod
    def from_jsonl(cls, text: str) -> Timeline:
        """Rebuild a timeline from :meth:`to_jsonl` output."""
        samples: list[Sample] = []
        events: list[Event] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            kind = row.pop("type", None)
            if kind == "sample":
                samples.append(Sample(**row))
            elif kind == "event":
                events.append(Event(**row))
            else:
                raise ValueError(f"line {number}: unknown row type {kind!r}")
        return cls(samples, events)

    @classmethod
    def read_jsonl(cls, path: str | Path) -> Timeline:
        """Read a timeline written by :meth:`write_jsonl`."""
        return cls.from_jsonl(Path(path).read_text())

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __len__(self) -> int:
        with self._lock:
            return len(self._samples) + len(self._events)
