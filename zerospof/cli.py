"""The ``zerospof`` command: ``validate``, ``revert``, ``lab``, ``run``.

Exit codes: 0 success, 1 an objective was missed or something failed to revert, 2 bad input,
130 ``revert`` interrupted (it finishes first).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from zerospof import run
from zerospof.errors import ConfigError, ZerospofError
from zerospof.lab import cli as lab_cli

if TYPE_CHECKING:
    from zerospof.faults import RevertReport

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _validate(args: argparse.Namespace) -> int:
    from zerospof.validate import validate_file

    status = EXIT_OK
    for path in args.files:
        try:
            kind = validate_file(path)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = EXIT_BAD_INPUT
        else:
            print(f"ok: {path} ({kind})")
    return status


def _revert(args: argparse.Namespace) -> int:
    """Revert every open ledger record; report each record and each unusable file; hold Ctrl-C until done."""
    from zerospof.faults import Ledger
    from zerospof.faults.runner import signals_held

    if args.ledger is not None and not Path(args.ledger).is_dir():
        why = "not a directory" if Path(args.ledger).exists() else "no such directory"
        raise ConfigError("command line", "--ledger", why, args.ledger)
    ledger = Ledger(args.ledger)
    with signals_held() as arrived:  # interrupting a revert half-way would leave the fault in place
        reports = ledger.revert_open()
        for report in reports:
            print(_revert_line(report), flush=True)
    if not reports:
        print(f"nothing to revert: no open ledger record in {ledger.directory}")
    elif arrived:
        print(f"interrupted ({len(arrived)} signal(s) held until the revert finished)", file=sys.stderr)
    if arrived:
        return EXIT_INTERRUPTED
    return EXIT_OK if all(report.handled for report in reports) else EXIT_FAILED


def _revert_line(report: RevertReport) -> str:
    if report.refused:
        return f"{report.file}: REFUSED, left alone: {report.error}"
    if not report.reverted:
        return f"{report.file}: {report.description} (was {report.state_before}): FAILED to revert: {report.error}"
    note = f"; but {report.ledger_error} (the record stays open)" if report.ledger_error else ""
    return f"{report.file}: {report.description} (was {report.state_before}): reverted{note}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zerospof", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check objectives, target and experiment files")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(handler=_validate)

    revert = commands.add_parser("revert", help="undo every fault an interrupted or killed run left in the ledger")
    revert.add_argument("--ledger", default=None, help="ledger directory (default: $ZEROSPOF_LEDGER_DIR or reports/ledger)")
    revert.set_defaults(handler=_revert)

    lab_cli.register(commands)
    run.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ZerospofError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
