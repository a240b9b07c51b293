"""The ``zerospof`` command: ``validate``, ``revert``, ``lab``, ``run``.

Exit codes: 0 success, 1 an objective was missed or something failed to revert, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from zerospof import reports_cli, run, spof_cli
from zerospof.errors import ConfigError, ZerospofError
from zerospof.lab import cli as lab_cli

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


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
    from zerospof.faults import Ledger

    ledger = Ledger(args.ledger)
    reports = ledger.revert_open()
    if not reports:
        print(f"nothing to revert: no open ledger record in {ledger.directory}")
        return EXIT_OK
    for report in reports:
        outcome = "reverted" if report.reverted else f"FAILED to revert: {report.error}"
        print(f"{report.record_id}: {report.description} (was {report.state_before}): {outcome}")
    return EXIT_OK if all(report.reverted for report in reports) else EXIT_FAILED


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
    spof_cli.register(commands)
    reports_cli.register(commands)  # after run: it extends run with --baseline
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
