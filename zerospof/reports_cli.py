"""``zerospof history``, ``zerospof report`` and ``zerospof run --baseline``: history and regressions.

``register`` adds the ``history`` and ``report`` commands and extends ``run`` (registered before it) with ``--baseline``,
``--regression-threshold`` and ``--fail-on-regression``: the baseline is resolved before any fault is injected
(a missing run is bad input, exit 2), the run goes as usual, then each figure is compared, written to
``<run>/regressions.json`` and ``<run>/regressions.junit.xml``, shown in ``index.html`` and on the console,
and gates (exit 1) only with ``--fail-on-regression``.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from zerospof.errors import ConfigError, TargetError

DEFAULT_RELATIVE_THRESHOLD = 0.2  # zerospof.regression's, here without its imports (zerospof --help stays light)

__all__ = ["register", "regressions_junit", "regression_rows"]

REGRESSION_HEADER = ("scenario", "figure", "baseline", "measured", "allowed worsening", "verdict")


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``history`` and the regression options of ``run`` (which must be registered already)."""
    history = commands.add_parser("history", help="list every game day found in report directories, with trends")
    history.add_argument("--reports", action="append", metavar="DIR",
                         help="a directory of runs (repeatable: several machines' artifacts side by side; default reports)")
    history.add_argument("--scenario", help="only this scenario")
    history.add_argument("--last", type=int, metavar="N", help="only the N most recent runs")
    history.add_argument("--json", action="store_true", help="print JSON instead of a table")
    history.add_argument("--html", metavar="FILE", help="also write the history page (trend charts) to FILE")
    history.set_defaults(handler=_history_command)

    report = commands.add_parser("report", help="(re)draw index.html of runs or SPOF sweeps already on disk, and "
                                               "their history page")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    report.set_defaults(handler=_report_command)

    run = commands.choices["run"]
    run.add_argument("--baseline", metavar="last|RUN_ID|median:N",
                     help="compare each figure with the last run, a run, or the median of the last N runs")
    run.add_argument("--regression-threshold", type=float, default=DEFAULT_RELATIVE_THRESHOLD, metavar="RATIO",
                     help="relative worsening allowed beyond 2 x the resolution (default 0.2 = 20%%)")
    run.add_argument("--fail-on-regression", action="store_true", help="exit 1 when a figure regressed")
    run.set_defaults(handler=functools.partial(_run_with_baseline, run.get_default("handler")))


def _history_command(args: argparse.Namespace) -> int:
    from zerospof.history import find_runs
    from zerospof.history_page import HISTORY_HEADER, history_html, history_json, history_rows
    from zerospof.report import format_table
    from zerospof.spof_page import find_sweeps

    sources = args.reports or ["reports"]
    if args.last is not None and args.last < 1:
        raise ConfigError("command line", "--last", "must be at least 1", args.last)
    runs = find_runs(sources)
    if args.scenario is not None:
        runs = [run for run in runs if args.scenario in run.scenarios]
    if args.last is not None:
        runs = runs[-args.last:]
    if args.html:
        sweeps = [found for source in sources if not source.startswith("s3://") for found in find_sweeps(Path(source))]
        Path(args.html).write_text(history_html(runs, sources, sweeps))
    if args.json:
        print(json.dumps(history_json(runs, args.scenario), indent=2))
    elif runs:
        print(format_table(history_rows(runs, args.scenario), HISTORY_HEADER))
    else:
        print(f"no run found in {', '.join(sources)}")
    return 0


def _report_command(args: argparse.Namespace) -> int:
    from zerospof.history import load_run
    from zerospof.spof_page import is_sweep, load_sweep

    from zerospof.html_report import write_html_reports

    for run_dir in map(Path, args.run_dirs):
        load_sweep(run_dir) if is_sweep(run_dir) else load_run(run_dir)  # not a run: bad input, named, first
    for run_dir in map(Path, args.run_dirs):
        print(f"html report: {write_html_reports(run_dir)}")
    return 0


def _run_with_baseline(run_handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    from zerospof.history import find_runs, load_run
    from zerospof.objectives import SCENARIOS
    from zerospof.regression import baseline_figures, compare, parse_baseline
    from zerospof.report import format_table

    if args.baseline is None:
        if args.fail_on_regression:
            raise ConfigError("command line", "--fail-on-regression", "needs --baseline", True)
        return run_handler(args)
    parse_baseline(args.baseline)
    if args.regression_threshold < 0:
        raise ConfigError("command line", "--regression-threshold", "must be >= 0", args.regression_threshold)
    if args.dry_run:
        return run_handler(args)
    reports_dir = Path(args.reports)
    earlier = find_runs([reports_dir]) if reports_dir.is_dir() else []
    # Resolve the baseline before any fault: a missing run is bad input, reported now.
    baseline_figures(earlier, args.baseline, args.scenarios or list(SCENARIOS))
    before = _run_dirs(reports_dir)
    status = run_handler(args)
    new = sorted(_run_dirs(reports_dir) - before)
    if len(new) != 1:
        raise TargetError(f"cannot tell which run to compare: {len(new)} new run directories in {reports_dir}")
    run = load_run(new[0])
    baseline = baseline_figures(earlier, args.baseline, list(run.scenarios))
    figures = compare(run.scenarios, baseline, args.regression_threshold)
    write_regressions(new[0], figures)
    print()
    print(format_table(regression_rows(figures), REGRESSION_HEADER))
    regressed = [f for f in figures if f.regressed]
    print(f"\n{len(regressed)} of {len(figures)} figures regressed against baseline {args.baseline}"
          + ("" if args.fail_on_regression else " (not gating: no --fail-on-regression)"))
    return max(status, 1) if regressed and args.fail_on_regression else status


def _run_dirs(reports_dir: Path) -> set[Path]:
    from zerospof.history import RUN_ID

    return {p for p in reports_dir.iterdir() if p.is_dir() and RUN_ID.match(p.name)} if reports_dir.is_dir() else set()


def regression_rows(figures: list[FigureComparison]) -> list[tuple[str, ...]]:
    """Console rows: :data:`REGRESSION_HEADER`."""
    rows = []
    for figure in figures:
        data = figure.to_dict()
        rows.append((figure.scenario, figure.figure, data["baseline_text"], data["measured_text"], data["allowed_text"],
                     "REGRESSED" if figure.regressed else "ok"))
    return rows


def regressions_junit(figures: list[FigureComparison]) -> str:
    """JUnit XML: one test case per compared figure, a failure when it regressed."""
    suite = ElementTree.Element("testsuite", name="zerospof.regressions", tests=str(len(figures)),
                                failures=str(sum(f.regressed for f in figures)))
    for figure in figures:
        data = figure.to_dict()
        case = ElementTree.SubElement(suite, "testcase", classname=f"regressions.{figure.scenario}", name=figure.figure)
        if figure.regressed:
            ElementTree.SubElement(case, "failure", message=(
                f"{figure.figure}: measured {data['measured_text']}, baseline {data['baseline_text']} "
                f"({figure.baseline_run}), allowed worsening {data['allowed_text']}"))
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_regressions(run_dir: Path, figures: list[FigureComparison]) -> None:
    """Write ``regressions.json`` and ``regressions.junit.xml`` into ``run_dir`` and redraw its ``index.html``."""
    from zerospof.html_report import write_html_report

    data: dict[str, Any] = {"schema": "zerospof.regressions/1", "figures": [f.to_dict() for f in figures]}
    (run_dir / "regressions.json").write_text(json.dumps(data, indent=2))
    (run_dir / "regressions.junit.xml").write_text(regressions_junit(figures))
    write_html_report(run_dir)
    print(f"regressions: {run_dir / 'regressions.json'}", file=sys.stderr)
