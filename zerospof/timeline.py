"""An append-only record of what happened during a run: probe samples and events.

Times are kept twice: ``t_mono`` (``time.monotonic()``, the only clock durations are taken from)
and ``t_wall`` (``time.time()``, for display and for correlating with component logs).

Memory stays flat however long a run is. Each probe keeps its newest :data:`CHUNK_SAMPLES`
samples in memory; older ones go, compressed, to an unnamed temporary file (next to the
timeline's file when it has one; gone when the timeline is, even after a crash) and are read back
one probe at a time by :meth:`Timeline.samples_of`.
A timeline given a ``path`` also streams every sample and event to that JSON Lines file as it is
recorded (flushed on every event, and while samples arrive at least every :data:`FLUSH_S`
seconds), so a run that dies leaves what it saw; a partial last line is ignored when the file is read.
"""

from __future__ import annotations

import json
import math
import pickle
import tempfile
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

__all__ = ["EventKind", "Sample", "Event", "Timeline", "CHUNK_SAMPLES", "FLUSH_S"]

CHUNK_SAMPLES = 2048  # samples of one probe kept in memory before they are spilled to disk
FLUSH_S = 1.0  # while samples arrive, a streamed timeline's file is at most this far behind


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


@dataclass(frozen=True, slots=True)
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


_Row = tuple  # (t_mono, t_wall, ok, value, error, latency_s): a sample without its probe name


class _ProbeStore:
    """One probe's samples: the newest in memory, older ones in compressed chunks on a temporary file."""

    def __init__(self, spill_dir: Path | None) -> None:
        self.spill_dir = spill_dir
        self.tail: list[_Row] = []
        self.chunks: list[tuple[float, int, int]] = []  # (latest t_mono, offset, length) on the spill file
        self.spill: IO[bytes] | None = None
        self.count = 0

    def add(self, row: _Row) -> None:
        self.tail.append(row)
        self.count += 1
        if len(self.tail) >= CHUNK_SAMPLES:
            self.spill_tail()

    def spill_tail(self) -> None:
        """Move the in-memory samples to the spill file as one compressed chunk."""
        if not self.tail:
            return
        if self.spill is None:
            self.spill = tempfile.TemporaryFile(prefix="zerospof-timeline-", dir=self.spill_dir)  # unlinked at once
        try:
            packed = pickle.dumps(self.tail, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):  # a value pickle cannot take: keep what the
            packed = pickle.dumps([(*row[:3], _as_json(row[3]), *row[4:]) for row in self.tail])  # file has
        data = zlib.compress(packed, 1)
        offset = self.spill.seek(0, 2)
        self.spill.write(data)
        self.chunks.append((max(row[0] for row in self.tail), offset, len(data)))
        self.tail = []

    def parts(self, since: float | None) -> list[bytes | list[_Row]]:
        """The spilled chunks (compressed; those holding nothing at or after ``since`` are skipped) and a
        copy of the tail, in recording order: cheap, for the caller to unpack outside the lock."""
        found: list[bytes | list[_Row]] = []
        for latest, offset, length in self.chunks:
            if since is not None and latest < since:
                continue
            assert self.spill is not None
            self.spill.seek(offset)
            found.append(self.spill.read(length))
        return found + [list(self.tail)]


class Timeline:
    """Thread-safe, append-only samples and events, with flat memory; optionally streamed to JSON Lines.

    ``path``: stream every sample and event to this file as it is recorded (truncated first).
    :meth:`until` returns a view of the same record, not a copy.
    """

    def __init__(self, samples: Iterable[Sample] = (), events: Iterable[Event] = (),
                 path: str | Path | None = None) -> None:
        self._lock = threading.Lock()
        self._probes: dict[str, _ProbeStore] = {}
        self._events: list[Event] = []
        self._before = math.inf  # a view made by until(): samples before this only
        self._last: tuple[tuple[str, float | None, float, int], list[Sample]] | None = None  # samples_of's last answer
        self.path = None if path is None else Path(path)
        self._spill_dir = None if self.path is None else self.path.parent  # on disk, not a tmpfs /tmp
        self._file: IO[str] | None = None
        self._flushed = time.monotonic()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8", buffering=1 << 16)
        for sample in samples:
            self.add_sample(sample)
        for event in events:
            self._add_event(event)

    # -- writing -----------------------------------------------------------------
    def add_sample(self, sample: Sample) -> None:
        """Append ``sample`` (and stream it)."""
        line = _sample_line(sample) if self._file is not None else None
        with self._lock:
            store = self._probes.get(sample.probe)
            if store is None:
                store = self._probes[sample.probe] = _ProbeStore(self._spill_dir)
            store.add((sample.t_mono, sample.t_wall, sample.ok, sample.value, sample.error, sample.latency_s))
            if line is not None:
                self._write(line, flush=False)

    def record(self, probe: str, ok: bool, value: Any = None, error: str | None = None,
               t_mono: float | None = None, latency_s: float | None = None) -> Sample:
        """Append a sample taken now (or at ``t_mono``) and return it."""
        sample = Sample(probe, time.monotonic() if t_mono is None else t_mono, time.time(), ok, value, error,
                        latency_s)
        self.add_sample(sample)
        return sample

    def event(self, kind: str, source: str = "", t_mono: float | None = None, t_wall: float | None = None,
              **data: Any) -> Event:
        """Append an event that happens now (or happened at ``t_mono`` / ``t_wall``), stream it, return it."""
        event = Event(str(kind), time.monotonic() if t_mono is None else t_mono,
                      time.time() if t_wall is None else t_wall, source, data)
        self._add_event(event)
        return event

    def _add_event(self, event: Event) -> None:
        line = _event_line(event) if self._file is not None else None
        with self._lock:
            self._events.append(event)
            if line is not None:
                self._write(line, flush=True)

    def _write(self, line: str, flush: bool) -> None:
        """Stream one line (the lock is held); flush on events, and when the last flush is ``FLUSH_S`` old."""
        if self._file is None:
            return  # closed: kept in memory, no longer streamed
        self._file.write(line)
        now = time.monotonic()
        if flush or now - self._flushed >= FLUSH_S:
            self._file.flush()
            self._flushed = now

    def close(self) -> None:
        """Flush and close the stream and spill what is still in memory (the timeline stays readable; later
        records are kept but not streamed). Idempotent."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            for store in self._probes.values():
                store.spill_tail()

    # -- reading -----------------------------------------------------------------
    def samples_of(self, probe: str, since: float | None = None) -> list[Sample]:
        """Samples of one probe (taken at or after ``since`` when given), ordered by ``t_mono``.

        The last answer is kept until a sample is added or another is asked for (measurement asks for
        one probe many times in a row).
        """
        with self._lock:
            store = self._probes.get(probe)
            key = (probe, since, self._before, store.count if store is not None else 0)
            if self._last is not None and self._last[0] == key:
                return list(self._last[1])
            self._last = None  # one probe's samples in memory at a time, not two
            parts = store.parts(since) if store is not None else []
        low, high = -math.inf if since is None else since, self._before
        found: list[Sample] = []
        for part in parts:  # one chunk's rows at a time: never every row and every Sample at once
            rows = pickle.loads(zlib.decompress(part)) if isinstance(part, bytes) else part
            found += [Sample(probe, *row) for row in rows if low <= row[0] < high]
        found.sort(key=_by_time)
        self._last = (key, found)
        return list(found)

    @property
    def samples(self) -> list[Sample]:
        """All samples of every probe, ordered by ``t_mono`` (in memory at once: for short timelines)."""
        return sorted((s for probe in self.probes() for s in self.samples_of(probe)), key=_by_time)

    @property
    def events(self) -> list[Event]:
        """All events, ordered by ``t_mono``."""
        with self._lock:
            return sorted(self._events, key=_by_time)

    def probes(self) -> list[str]:
        """Names of every probe that has samples, in first-recorded order."""
        with self._lock:
            return list(self._probes)

    def first_event(self, kind: str, after: float | None = None) -> Event | None:
        """Return the earliest event of ``kind`` (at or after ``after``), or None."""
        for event in self.events:
            if event.kind == kind and (after is None or event.t_mono >= after):
                return event
        return None

    def until(self, t_mono: float) -> Timeline:
        """A view of the samples taken before ``t_mono`` and every event (for a measurement scope)."""
        view = Timeline.__new__(Timeline)
        view.__dict__.update(self.__dict__)
        view._before = min(self._before, t_mono)
        view._last = None
        view._events = self.events
        view.path, view._file = None, None  # a view never writes
        return view

    def t0(self) -> float | None:
        """Monotonic time the fault was verified in effect, or None if it never was."""
        event = self.first_event(EventKind.FAULT_VERIFIED)
        return None if event is None else event.t_mono

    # -- serialisation -------------------------------------------------------------
    def to_jsonl(self) -> str:
        """Serialise as JSON Lines, one ``{"type": "sample"|"event", ...}`` object per line, ordered by time."""
        lines = [(s.t_mono, _sample_line(s)) for s in self.samples] + [(e.t_mono, _event_line(e)) for e in self.events]
        return "".join(line for _, line in sorted(lines, key=lambda item: item[0]))

    def write_jsonl(self, path: str | Path) -> Path:
        """Make ``path`` hold this timeline and return it.

        The file this timeline streams to is only flushed; any other path is written one probe
        at a time (lines grouped by probe, then the events: readers do not rely on order).
        """
        path = Path(path)
        if self.path is not None and path.resolve() == self.path.resolve():
            with self._lock:
                if self._file is not None:
                    self._file.flush()
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for probe in self.probes():
                out.writelines(_sample_line(s) for s in self.samples_of(probe))
            out.writelines(_event_line(e) for e in self.events)
        return path

    @classmethod
    def from_jsonl(cls, text: str) -> Timeline:
        """Rebuild a timeline from JSON Lines text (see :meth:`read_jsonl`)."""
        return cls._from_lines(text.splitlines(keepends=True))

    @classmethod
    def read_jsonl(cls, path: str | Path) -> Timeline:
        """Read a timeline file line by line (flat memory); a run cut off mid-line leaves a partial last
        line, which is ignored. Any other bad line raises ``ValueError`` naming the file and line."""
        with Path(path).open(encoding="utf-8") as lines:
            try:
                return cls._from_lines(lines, Path(path).parent)
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from exc

    @classmethod
    def _from_lines(cls, lines: Iterable[str], spill_dir: Path | None = None) -> Timeline:
        timeline = cls()
        timeline._spill_dir = spill_dir
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                timeline._add_row(json.loads(line))
            except (ValueError, TypeError) as exc:
                if not line.endswith("\n"):
                    break  # the last line, cut off mid-write by a run that died: ignored
                raise ValueError(f"line {number}: {exc}") from exc
        return timeline

    def _add_row(self, row: Any) -> None:
        kind = row.pop("type", None) if isinstance(row, dict) else None
        if kind == "sample":
            self.add_sample(Sample(**row))
        elif kind == "event":
            self._add_event(Event(**row))
        else:
            raise ValueError(f"unknown row type {kind!r}")

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __len__(self) -> int:
        with self._lock:
            return sum(store.count for store in self._probes.values()) + len(self._events)


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _by_time(item: Sample | Event) -> float:
    return item.t_mono


def _sample_line(sample: Sample) -> str:
    return json.dumps({"type": "sample", "probe": sample.probe, "t_mono": sample.t_mono, "t_wall": sample.t_wall,
                       "ok": sample.ok, "value": sample.value, "error": sample.error,
                       "latency_s": sample.latency_s}, default=str) + "\n"


def _event_line(event: Event) -> str:
    return json.dumps({"type": "event", **asdict(event)}, default=str) + "\n"
