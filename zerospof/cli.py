"""The ``zerospof`` command: ``run``, ``validate``, ``revert``, ``lab``.

Exit codes (every command): 0 success / every objective met, 1 an objective was missed or something
failed to revert, 2 bad input, 3 a harness or target error (no credentials, unreachable, not ready,
refused by a safety guard), 130 ``revert`` interrupted (it finishes first). Heavy modules are imported
when a command runs, not for ``--help``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from zerospof import __version__, reports_cli, run, spof_cli
from zerospof.errors import EXIT_BAD_INPUT, EXIT_MET, EXIT_MISSED, ConfigError, ZerospofError, exit_code
from zerospof.lab import cli as lab_cli

if TYPE_CHECKING:
    from zerospof.faults import RevertReport

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED = EXIT_MET, EXIT_MISSED  # the handlers' names for 0 and 1
EXIT_INTERRUPTED = 130

EPILOG = """\
examples:
  zerospof validate objectives.yaml targets/staging.yaml experiments/aws/*.yaml
  zerospof run az-failure --target targets/staging.yaml --dry-run
  zerospof run --target targets/staging.yaml --json > result.json
  zerospof revert --target targets/staging.yaml     # also on a fresh runner: finds zerospof's faults in the target
  zerospof lab up && zerospof run --keep-lab
  zerospof spof                                     # fail every member of the lab alone

exit codes:
  0  success: every objective met
  1  an objective was missed, or something could not be reverted
  2  bad input: a malformed file or argument, reported before any fault (file, key path, value)
  3  harness or target error: no credentials, unreachable, not ready, refused by a safety guard
  130  revert interrupted (it finishes the revert first)
"""


def _validate(args: argparse.Namespace) -> int:
    import json

    from zerospof.validate import validate_file

    status = EXIT_OK
    files = []
    for path in args.files:
        try:
            kind = validate_file(path)
        except ConfigError as exc:
            errors = getattr(exc, "errors", None) or [exc]  # every problem of the file, where the schema gives them
            files.append({"file": str(path), "valid": False, "errors": [
                {"file": e.path, "key": e.key, "message": e.detail, "value": repr(e.value) if e.value is not None
                 else None} for e in errors]})
            if not args.json:
                print(f"error: {exc}", file=sys.stderr)
            status = EXIT_BAD_INPUT
        else:
            files.append({"file": str(path), "valid": True, "kind": kind})
            if not args.json:
                print(f"ok: {path} ({kind})")
    if args.json:
        print(json.dumps({"schema": "zerospof.validate/1", "exit_code": status, "files": files}, indent=2))
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


def _revert_all(args: argparse.Namespace) -> int:
    """``revert``: the mirrored records fetched (``--ledger-mirror``), the ledger's open records replayed,
    then (``--target``) what zerospof left in the target itself."""
    if args.ledger_mirror:
        from zerospof.faults import Ledger
        from zerospof.faults.ledger_mirror import fetch_mirror

        directory = Ledger(args.ledger).directory
        print(f"fetched {fetch_mirror(args.ledger_mirror, directory)} record(s) from {args.ledger_mirror} into {directory}")
    status = _revert(args)
    if args.target is None:
        return status
    from zerospof.revert_target import revert_in_target

    return max(status, revert_in_target(args.target))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zerospof", description=__doc__.splitlines()[0], epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"zerospof {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check objectives, target and experiment files",
                                   epilog="example: zerospof validate objectives.yaml targets/staging.yaml\n"
                                          "exit codes: 0 all valid, 2 a file is invalid (file, key path, value)",
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--json", action="store_true", help="print one JSON document: each file, valid or its errors "
                                                              "(file, key path, message, value)")
    validate.set_defaults(handler=_validate)

    revert = commands.add_parser(
        "revert", help="undo every fault an interrupted or killed run left (from the ledger, or found in the target)",
        epilog="examples:\n  zerospof revert                                  replay the open ledger records\n"
               "  zerospof revert --target targets/staging.yaml    then find zerospof's leftovers in the target\n"
               "exit codes: 0 nothing left, 1 something could not be reverted, 2 bad input, 3 no access",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    revert.add_argument("--ledger", default=None,
                        help="ledger directory (default: $ZEROSPOF_LEDGER_DIR or ~/.local/state/zerospof/ledger)")
    revert.add_argument("--ledger-mirror", default=os.environ.get("ZEROSPOF_LEDGER_MIRROR"), metavar="s3://BUCKET/PREFIX",
                        help="first copy the records mirrored there into the ledger (default: $ZEROSPOF_LEDGER_MIRROR, "
                             "which also makes every run mirror its records there)")
    revert.add_argument("--target", default=None, metavar="FILE",
                        help="an AWS target file: afterwards find and restore what zerospof left in the target itself "
                             "(NACL blackholes, FIS experiments, security-group rules, scaled-down or suspended GitOps "
                             "controllers), with or without a ledger")
    revert.set_defaults(handler=_revert_all)

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
    except ZerospofError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
