"""Runs on disk: read any directory of game-day runs (several side by side, e.g. CI artifacts) into records.

A run directory is ``<run-id>/`` holding ``measurements.json`` (schema ``zerospof.game-day/1``). A run that
ended before writing it (interrupted, killed) is still read from its scenarios' own ``measurements.json`` or
``journal.json`` and marked incomplete: it never counts as a pass.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zerospof.errors import ConfigError
from zerospof.units import format_duration

__all__ = ["RunRecord", "load_run", "find_runs", "KEY_FIGURES"]

RUN_ID = re.compile(r"^(\d{8}T\d{6})-[0-9a-f]+$")
GAME_DAY_SCHEMA = "zerospof.game-day/1"
# The figures a debrief compares across runs: (measurement name, label).
KEY_FIGURES = (("detection_s", "detection"), ("reads.downtime_s", "reads downtime"),
               ("writes.downtime_s", "writes downtime"), ("reads.rto_s", "reads RTO"), ("writes.rto_s", "writes RTO"),
               ("rpo_s", "RPO"), ("deployment_delay_s", "deployment delay"))


@dataclass(frozen=True)
class RunRecord:
    """One game day as found on disk: its scenario reports (``zerospof.measurements/2``) by scenario id."""

    run_id: str
    directory: str
    target: str
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)
    complete: bool = True
    config: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> zerospof.config_commit record

    @property
    def started(self) -> dt.datetime | None:
        """When the run started (UTC), from its id (``20261201T115557-dcbaf7``)."""
        match = RUN_ID.match(self.run_id)
        if match is None:
            return None
        return dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=dt.timezone.utc)

    @property
    def passed(self) -> bool:
        """Complete, with at least one scenario, every scenario passed."""
        return self.complete and bool(self.scenarios) and all(r.get("passed") is True for r in self.scenarios.values())

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else ("INCOMPLETE" if not self.complete else "FAIL")

    def config_text(self) -> str:
        """The commits the configuration came from: ``target 3f2a9c1d0b7e (dirty); objectives 3f2a9c1d0b7e``."""
        from zerospof.config_commit import configuration_text

        return configuration_text(self.config)

    def figure(self, scenario: str, name: str) -> dict[str, Any] | None:
        """The measurement ``name`` of ``scenario`` (``{"value", "unit", "resolution_s", ...}``), None if absent."""
        return ((self.scenarios.get(scenario) or {}).get("measurements") or {}).get(name)

    def figure_text(self, scenario: str, name: str) -> str:
        """The figure for people: ``36.1s``; ``n/a`` when not measured; ``-`` when the scenario has no such figure."""
        measurement = self.figure(scenario, name)
        if measurement is None:
            return "-"
        value = measurement.get("value")
        if value is None:
            return "n/a"
        return format_duration(value) if measurement.get("unit") == "s" else f"{value:g} {measurement.get('unit', '')}"


def load_run(directory: str | Path) -> RunRecord:
    """Read the run in ``directory``. Raise ConfigError naming the file when a file is not valid JSON or
    not a zerospof report, or when the directory holds no run at all."""
    directory = Path(directory)
    summary = directory / "measurements.json"
    if summary.is_file():
        data = _read_json(summary)
        if data.get("schema") != GAME_DAY_SCHEMA:
            raise ConfigError(str(summary), "schema", f"expected {GAME_DAY_SCHEMA!r}", data.get("schema"))
        return RunRecord(str(data.get("run_id") or directory.name), str(directory), str(data.get("target", "?")),
                         dict(data.get("scenarios") or {}), complete=True, config=dict(data.get("config") or {}))
    scenarios: dict[str, dict[str, Any]] = {}
    for child in sorted(p for p in directory.iterdir() if p.is_dir()) if directory.is_dir() else []:
        report = _scenario_report(child)
        if report is not None:
            scenarios[str(report.get("scenario") or child.name)] = report
    if not scenarios:
        raise ConfigError(str(directory), "", "not a zerospof run directory (no measurements.json, no scenario reports)")
    target = next((str(r["target"]) for r in scenarios.values() if r.get("target")), "?")
    return RunRecord(directory.name, str(directory), target, scenarios, complete=False)


def _scenario_report(directory: Path) -> dict[str, Any] | None:
    """A scenario's report from its ``measurements.json``, else its journal's; with the journal's target."""
    journal = _read_json(directory / "journal.json") if (directory / "journal.json").is_file() else {}
    if (directory / "measurements.json").is_file():
        report = _read_json(directory / "measurements.json")
    elif isinstance(journal.get("zerospof"), dict):
        report = journal["zerospof"]
    else:
        return None
    target = ((journal.get("experiment") or {}).get("configuration") or {}).get("zerospof_target")
    return {**report, "target": target} if target and not report.get("target") else report


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), "", f"cannot read it as JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "expected a JSON object", type(data).__name__)
    return data


def find_runs(sources: Iterable[str | Path]) -> list[RunRecord]:
    """Every run under each of ``sources``, oldest first: a directory of runs, one run directory, or an S3
    prefix ``s3://bucket/prefix`` (its report files are copied to a temporary directory and read there).

    The same run id found twice (the same artifacts unpacked in two places) is kept once, the complete copy
    first. A directory that does not exist is bad input (ConfigError); subdirectories that are not runs
    (``ledger/``) are skipped.
    """
    found: dict[str, RunRecord] = {}
    with tempfile.TemporaryDirectory(prefix="zerospof-history-") as scratch:
        for number, source in enumerate(sources):
            directory, shown = Path(source), str(source)
            if str(source).startswith("s3://"):
                from zerospof.history_s3 import download_runs

                directory = Path(scratch) / str(number)
                directory.mkdir()
                download_runs(str(source), directory)
            elif not directory.is_dir():
                raise ConfigError("command line", "--reports", "not a directory", shown)
            for record in _runs_in(directory):
                if directory.is_relative_to(scratch):
                    record = dataclasses.replace(record, directory=f"{shown.rstrip('/')}/{record.run_id}")
                known = found.get(record.run_id)
                if known is None or (record.complete and not known.complete):
                    found[record.run_id] = record
    return sorted(found.values(), key=lambda r: (r.started or dt.datetime.min.replace(tzinfo=dt.timezone.utc), r.run_id))


def _runs_in(directory: Path) -> list[RunRecord]:
    candidates = [directory] if RUN_ID.match(directory.name) else sorted(directory.iterdir())
    return [load_run(c) for c in candidates if c.is_dir() and RUN_ID.match(c.name)]
