"""Component log lines around an instant: what HAProxy, Patroni, etcd and PowerDNS wrote near t0.

The lab's daemons write to ``<lab dir>/logs/<component>.log`` (kept after ``lab down``; the run before in
``logs.previous``). Each format carries its own timestamp; a line without one (HAProxy's console copy of a
line it also logged with an ISO time, a Python traceback) is skipped, so every line shown has a time.

Other targets read their components' records from APIs during the run (AWS: CloudWatch alarm history and
Kubernetes events, see :mod:`zerospof.aws.component_logs`) into ``<scenario run dir>/component_logs.json``
(:func:`write_collected`): per source its lines, or why it could not be read (never an empty list instead).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LogLine", "LogSource", "CollectedLogs", "parse_log_time", "lines_around", "lab_log_dirs", "keep_around", "write_collected",
           "read_collected", "COLLECTED_FILE"]

# Components whose logs tell the story of a failover (prefix of the log file name).
COMPONENT_PREFIXES = ("lb-", "pg-", "cp-etcd-", "etcd-", "dns", "cp-sched-", "cp-cm-", "gitops-", "git-")
MAX_LINES_PER_FILE = 40
COLLECTED_FILE = "component_logs.json"
COLLECTED_SCHEMA = "zerospof.component-logs/1"
# Per-request lines that would bury the failover's own messages (HAProxy's connection log).
NOISE = re.compile(r"\bConnect from \d")

_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?\s*(Z|UTC|[+-]\d{2}:?\d{2})?")
_KLOG = re.compile(r"^[IWEF](\d{2})(\d{2}) (\d{2}:\d{2}:\d{2})\.(\d+) ")
_SYSLOG = re.compile(r"^([A-Z][a-z]{2}) (\d{2}) (\d{2}:\d{2}:\d{2})\b")


@dataclass(frozen=True)
class LogLine:
    """One timestamped line of a component's log (``t_wall``: seconds since the epoch, UTC)."""

    component: str
    t_wall: float
    text: str


@dataclass(frozen=True)
class LogSource:
    """One source's lines within a window, or ``error``: why it could not be read (shown as "not read: ...")."""

    component: str
    lines: tuple[LogLine, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class CollectedLogs:
    """What a run read from its components' APIs: the window [start_wall, end_wall] (epoch s) and each source."""

    start_wall: float
    end_wall: float
    sources: tuple[LogSource, ...]


def parse_log_time(line: str, year: int) -> float | None:
    """Return the wall time of ``line`` (epoch seconds) or None when it carries none.

    Formats: ISO 8601 (HAProxy's lines, Patroni and PostgreSQL, with ``,`` or ``.`` fractions; no zone is
    read as UTC, as the lab's machines run), etcd's zap JSON ``"ts"``, PowerDNS's syslog ``Dec 01 12:07:46`` and
    the Kubernetes components' klog ``I1201 12:07:46.533608`` (no year in them: ``year`` is used).
    """
    if line.startswith("{"):
        try:
            stamp = json.loads(line).get("ts")
        except (ValueError, AttributeError):
            return None
        return parse_log_time(stamp, year) if isinstance(stamp, str) else None
    match = _ISO.match(line)
    if match:
        day, clock, fraction, zone = match.groups()
        parsed = dt.datetime.fromisoformat(f"{day}T{clock}")
        offset = dt.timedelta()
        if zone and zone not in ("Z", "UTC"):
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            offset = sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        seconds = (parsed - offset).replace(tzinfo=dt.timezone.utc).timestamp()
        return seconds + (float(f"0.{fraction}") if fraction else 0.0)
    match = _KLOG.match(line)
    if match:
        month, day, clock, fraction = match.groups()
        parsed = dt.datetime.strptime(f"{year}-{month}-{day} {clock}", "%Y-%m-%d %H:%M:%S")
        return parsed.replace(tzinfo=dt.timezone.utc).timestamp() + float(f"0.{fraction}")
    match = _SYSLOG.match(line)
    if match:
        month, day, clock = match.groups()
        parsed = dt.datetime.strptime(f"{year} {month} {day} {clock}", "%Y %b %d %H:%M:%S")
        return parsed.replace(tzinfo=dt.timezone.utc).timestamp()
    return None


def lines_around(log_dirs: list[Path], t_wall: float, before_s: float = 10.0, after_s: float = 40.0,
                 max_lines: int = MAX_LINES_PER_FILE) -> dict[str, list[LogLine]]:
    """Per component, the timestamped lines of its log within [t_wall - before_s, t_wall + after_s].

    Every ``*.log`` under each directory whose name starts with a :data:`COMPONENT_PREFIXES` entry is read;
    at most ``max_lines`` per component are kept (see :func:`_window`). Components with no
    line in the window are left out. Missing directories are skipped.
    """
    year = dt.datetime.fromtimestamp(t_wall, dt.timezone.utc).year
    start, end = t_wall - before_s, t_wall + after_s
    found: dict[str, list[LogLine]] = {}
    for directory in log_dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.log")):
            component = path.stem
            if not component.startswith(COMPONENT_PREFIXES) or component in found:
                continue
            kept = _window(path, component, year, start, end, t_wall, max_lines)
            if kept:
                found[component] = kept
    return found


def _window(path: Path, component: str, year: int, start: float, end: float, t0: float, max_lines: int
            ) -> list[LogLine]:
    """The lines in [start, end]; over ``max_lines``, the last quarter before ``t0`` and the first after it
    (a daemon's start-up chatter must not crowd out what it logged when the fault hit)."""
    kept: list[LogLine] = []
    with path.open(errors="replace") as lines:
        for line in lines:
            t_wall = parse_log_time(line, year)
            if t_wall is None or t_wall < start or NOISE.search(line):
                continue
            if t_wall > end:
                break
            kept.append(LogLine(component, t_wall, line.rstrip("\n")[:400]))
    return keep_around(kept, t0, max_lines)


def keep_around(lines: list[LogLine], t0: float, max_lines: int = MAX_LINES_PER_FILE) -> list[LogLine]:
    """``lines`` (in time order); over ``max_lines``, the last quarter before ``t0`` and the first after it."""
    if len(lines) <= max_lines:
        return lines
    before = [line for line in lines if line.t_wall < t0][-(max_lines // 4):] if max_lines >= 4 else []
    after = [line for line in lines if line.t_wall >= t0]
    return before + after[:max_lines - len(before)]


def write_collected(path: Path, t0_wall: float, collected: CollectedLogs) -> None:
    """Write ``collected`` (read around ``t0_wall``) to ``path`` as JSON."""
    document = {"schema": COLLECTED_SCHEMA, "t0_wall": t0_wall, "start_wall": collected.start_wall,
                "end_wall": collected.end_wall,
                "sources": [{"component": source.component, "error": source.error,
                             "lines": [{"t_wall": line.t_wall, "text": line.text} for line in source.lines]}
                            for source in collected.sources]}
    path.write_text(json.dumps(document, indent=1))


def read_collected(path: Path) -> CollectedLogs:
    """What :func:`write_collected` wrote; ValueError (naming the file) when it is not such a file."""
    try:
        document = json.loads(path.read_text())
        if document.get("schema") != COLLECTED_SCHEMA:
            raise ValueError(f"schema {document.get('schema')!r}, expected {COLLECTED_SCHEMA!r}")
        sources = tuple(LogSource(item["component"],
                                  tuple(LogLine(item["component"], float(line["t_wall"]), str(line["text"]))
                                        for line in item["lines"]), item["error"])
                        for item in document["sources"])
        return CollectedLogs(float(document["start_wall"]), float(document["end_wall"]), sources)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a component log file: {exc}") from exc


def lab_log_dirs() -> list[Path]:
    """The lab's log directories, newest first (``$ZEROSPOF_LAB_DIR`` or ``/var/tmp/zerospof-lab``)."""
    base = Path(os.environ.get("ZEROSPOF_LAB_DIR", "/var/tmp/zerospof-lab"))
    return [base / "logs", base / "logs.previous"]
