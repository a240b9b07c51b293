"""``zerospof run``: the game day. Every scenario on a target, measured, judged and reported.

Exit codes: 0 every objective met, 1 an objective missed, 2 bad input, 3 a harness or target error
(no credentials, target unreachable or not ready, refused by a safety guard, the fault could not be
injected, the time limit fired). A harness error is printed on the first line and at the top of
``summary.md``; it stops the game day (the remaining scenarios are not run).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from zerospof.errors import EXIT_ERROR, EXIT_MET, EXIT_MISSED, ConfigError, ZerospofError

__all__ = ["register", "run_game_day", "check_access", "GameDay", "validate_game_day", "configuration_commits"]

SCENARIOS = ("az-failure", "region-failure", "control-plane", "gitops")  # zerospof.objectives.SCENARIOS, without its imports
PROGRESS_EVERY_S = 10.0

EPILOG = """\
examples:
  zerospof run                                      all four scenarios on the lab
  zerospof run az-failure --target targets/staging.yaml --dry-run
  zerospof run az-failure --target targets/staging.yaml --json > result.json

exit codes:
  0  every objective met
  1  an objective was missed
  2  bad input (a malformed objectives, target or experiment file, an unknown scenario)
  3  harness or target error (no credentials, unreachable, not ready, refused by a safety guard,
     the fault could not be injected, the time limit fired): the cause is on the first line
"""


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("run", help="run failover scenarios, measure them and judge them against the objectives",
                                 description="Run failover scenarios on a target, measure them, judge them against "
                                             "the objectives and write reports/<run-id>/.",
                                 epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=f"default: all of {', '.join(SCENARIOS)}")
    parser.add_argument("--target", default="lab", help="'lab' (default) or the path of a target file")
    parser.add_argument("--objectives", default="objectives.yaml", help="objectives file (default: objectives.yaml)")
    parser.add_argument("--keep-lab", action="store_true", help="leave the lab running afterwards")
    parser.add_argument("--reports", default="reports", help="reports directory (default: reports)")
    parser.add_argument("--dry-run", action="store_true",
                        help="AWS targets: print every call each scenario would make, change nothing")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document (outcome, exit code, error, per-scenario reports) on stdout; "
                             "progress goes to stderr")
    parser.set_defaults(handler=_run_command)


def _run_command(args: argparse.Namespace) -> int:
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        raise ConfigError("command line", "SCENARIO", f"unknown scenario; expected one of: {', '.join(SCENARIOS)}",
                          unknown[0])
    if args.dry_run:
        from zerospof.targets import LabTarget, resolve_target
        if isinstance(resolve_target(args.target), LabTarget):
            raise ConfigError("command line", "--dry-run", "only for AWS target files", args.target)
        validate_game_day(args.scenarios or list(SCENARIOS), args.target, Path(args.objectives))
        from zerospof.aws.run import print_dry_run
        print_dry_run(args.target, args.scenarios or list(SCENARIOS))
        return EXIT_MET
    out = sys.stderr if args.json else sys.stdout
    game_day = GameDay(args.scenarios or list(SCENARIOS), args.target, Path(args.objectives), Path(args.reports),
                       keep_lab=args.keep_lab, out=out)
    try:
        game_day.run()
    except ZerospofError as exc:
        if args.json:
            print(json.dumps(game_day.document(exc), indent=2, default=str))
        raise
    if args.json:
        print(json.dumps(game_day.document(), indent=2, default=str))
    return game_day.exit_code


def check_access(resolved: Any) -> None:
    """Fail fast (a harness error, exit 3) when the runner cannot act on the target at all.

    AWS: credentials, the account allow-list and the kube contexts (seconds, not the readiness
    wait's minutes). The lab is brought up (or checked) by the run itself.
    """
    from zerospof.targets import LabTarget

    if isinstance(resolved, LabTarget):
        return
    from zerospof.aws.clients import AwsClients
    from zerospof.aws.run import preflight

    preflight(resolved, AwsClients(resolved.endpoint_url))


class GameDay:
    """One ``zerospof run``: validate, check access, run each scenario, write the reports."""

    def __init__(self, scenarios: list[str], target: str, objectives_path: Path, reports_dir: Path,
                 keep_lab: bool = False, out: TextIO | None = None) -> None:
        from zerospof.chaos.settings import new_run_id

        self.scenarios, self.target, self.objectives_path = scenarios, target, objectives_path
        self.keep_lab = keep_lab
        self.out = out if out is not None else sys.stdout
        self.run_id = new_run_id()
        self.run_dir = reports_dir / self.run_id
        self.results: list[Any] = []
        self.error: str | None = None
        self.config = configuration_commits(target, objectives_path)

    @property
    def exit_code(self) -> int:
        if self.error is not None or any(result.outcome == "error" for result in self.results):
            return EXIT_ERROR
        return EXIT_MET if self.results and all(result.passed for result in self.results) else EXIT_MISSED

    def say(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=self.out, flush=True)

    def run(self) -> list[Any]:
        """Validate everything (ConfigError, exit 2), check access (ZerospofError, exit 3), then run."""
        from zerospof.targets import resolve_target

        try:
            kind, paths = validate_game_day(self.scenarios, self.target, self.objectives_path)
        except ConfigError:
            raise  # bad input: exit 2, before anything
        except ZerospofError as exc:  # the account could not be asked (no access, refused): a harness error
            self.error = f"harness or target error: {exc}"
            self._write_reports()
            raise
        resolved = resolve_target(self.target)
        try:
            check_access(resolved)
        except ZerospofError as exc:
            self.error = f"harness or target error: {exc}"
            self._write_reports()
            raise
        self.say(f"game day {self.run_id} on target {self.target!r}: {', '.join(self.scenarios)}")
        _show_progress(self.out)
        lab = self._lab_up() if kind == "lab" else None
        try:
            for scenario in self.scenarios:
                result = self._scenario(scenario, paths[scenario])
                if result.error is not None:
                    self.error = f"harness or target error in {scenario}: {result.error}"
                    self.say(f"scenario {scenario}: ERROR ({result.error}); the remaining scenarios are not run")
                    break
        finally:
            if lab is not None and not self.keep_lab:
                self.say("bringing the lab down")
                lab.down()
        self._write_reports()
        from zerospof.report import format_table, result_rows
        print(file=self.out)
        if self.error is not None:
            print(f"error: {self.error}", file=self.out)
        print(format_table(result_rows(self._reports())), file=self.out)
        print(f"\nreport: {self.run_dir / 'summary.md'}", file=self.out)
        from zerospof.html_report import write_html_reports

        print(f"html report: {write_html_reports(self.run_dir)}", file=self.out)
        return self.results

    def _scenario(self, scenario: str, path: Path) -> Any:
        from zerospof.chaos.runner import run_experiment_file
        from zerospof.report import timeline_chart

        self.say(f"scenario {scenario}: starting")
        started = time.monotonic()
        with _Progress(self, scenario):
            result = run_experiment_file(path, {
                "zerospof_target": self.target, "zerospof_objectives": str(self.objectives_path),
                "zerospof_run_id": f"{self.run_id}-{scenario}", "zerospof_run_dir": str(self.run_dir / scenario),
            })
        if (result.run_dir / "timeline.jsonl").exists():
            timeline_chart(result.timeline(), result.run_dir / "timeline.png", f"{scenario} ({self.run_id})", result.report)
        self.results.append(result)
        verdict = {"met": "PASS", "missed": "FAIL", "error": "ERROR"}[result.outcome]
        self.say(f"scenario {scenario}: {verdict} in {time.monotonic() - started:.0f}s")
        return result

    def _reports(self) -> dict[str, dict[str, Any]]:
        return {result.scenario: result.report for result in self.results}

    def _write_reports(self) -> None:
        from zerospof.report import summary_markdown

        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "measurements.json").write_text(json.dumps(
            {"schema": "zerospof.game-day/1", "run_id": self.run_id, "target": self.target, "error": self.error,
             "config": self.config, "scenarios": self._reports()}, indent=2, default=str))
        head = f"**ERROR (exit 3)**: {self.error}\n\n" if self.error is not None else ""
        (self.run_dir / "summary.md").write_text(head + summary_markdown(self.run_id, self.target, self._reports(), self.error))

    def document(self, exc: ZerospofError | None = None) -> dict[str, Any]:
        """What ``--json`` prints: outcome, exit code, error, run dir and per-scenario outcome and report."""
        from zerospof.errors import exit_code

        code = exit_code(exc) if exc is not None else self.exit_code
        return {"schema": "zerospof.run-result/1", "run_id": self.run_id, "target": self.target,
                "exit_code": code, "outcome": {0: "met", 1: "missed", 2: "bad-input", 3: "error"}[code],
                "error": self.error if self.error is not None else (str(exc) if exc is not None else None),
                "run_dir": str(self.run_dir),
                "scenarios": [{"scenario": r.scenario, "outcome": r.outcome, "error": r.error, "report": r.report}
                              for r in self.results]}

    def _lab_up(self) -> Any:
        """Bring the lab up and return it; None when it was already running (then it is left running)."""
        from zerospof.lab import Lab

        lab = Lab()
        if lab.supervisor.alive():
            self.say("the lab is already running: using it, and leaving it running")
            return None
        self.say("bringing the lab up")
        with _Progress(self, "lab", "the lab to be up and healthy"):
            lab.up()
        return lab


def configuration_commits(target: str, objectives_path: Path) -> dict[str, dict[str, Any]]:
    """The git commit each configuration file of the run came from (``zerospof.config_commit``), by role."""
    from zerospof.config_commit import built_in, config_commit

    return {"target": (built_in(target) if target == "lab" else config_commit(target)).to_dict(),
            "objectives": config_commit(objectives_path).to_dict()}


def experiment_path(target_kind: str, scenario: str) -> Path:
    """The experiment file of ``scenario`` on a target kind (one name here, so a test can point it elsewhere)."""
    from zerospof.chaos.runner import experiment_path as path_of

    return path_of(target_kind, scenario)


def validate_game_day(scenarios: list[str], target: str, objectives_path: Path) -> tuple[str, dict[str, Path]]:
    """Validate the objectives, the target and each scenario's experiment (and, on AWS, the target's zones against
    the account) before anything changes; return the target kind and the experiment paths."""
    from zerospof.objectives import load_objectives
    from zerospof.targets import LabTarget, resolve_target
    from zerospof.validate import validate_experiment

    objectives = load_objectives(objectives_path)
    resolved = resolve_target(target)
    kind = "lab" if isinstance(resolved, LabTarget) else "aws"
    paths = {scenario: experiment_path(kind, scenario) for scenario in scenarios}
    for scenario, path in paths.items():
        if not path.exists():
            raise ConfigError(str(path), "", f"no experiment for scenario {scenario!r} on target {kind!r}")
        validate_experiment(path)
        if scenario not in objectives.scenarios:
            raise ConfigError(str(objectives_path), f"scenarios.{scenario}", "no objectives for this scenario")
        if kind == "aws":  # every scenario must be described by the target file before any fault runs
            from zerospof.aws.scenarios import plan_faults
            plan_faults(resolved, scenario)
    if kind == "aws":
        from zerospof.aws.clients import AwsClients
        from zerospof.aws.target import check_against_account
        check_against_account(resolved, AwsClients(resolved.endpoint_url))
    return kind, paths


def run_game_day(scenarios: list[str], target: str, objectives_path: Path, reports_dir: Path,
                 keep_lab: bool = False) -> list[Any]:
    """Validate everything, bring the lab up if needed, run each scenario, write the report."""
    return GameDay(scenarios, target, objectives_path, reports_dir, keep_lab=keep_lab).run()


class _Progress(logging.Handler):
    """Every ``PROGRESS_EVERY_S`` of a wait, one line: elapsed time and what is awaited (the running activity)."""

    AWAITED = {"Rollbacks strategy": "the target to be ready (healthy, in its reference state) before any fault",
               "Steady-state strategy": "the target to be ready before any fault"}

    def __init__(self, game_day: GameDay, what: str, awaited: str = "the experiment to start") -> None:
        super().__init__(logging.INFO)
        self.game_day, self.what, self.awaited = game_day, what, awaited
        self.stop = threading.Event()
        self.started = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for prefix, awaited in self.AWAITED.items():
            if message.startswith(prefix):
                self.awaited = awaited
                return
        for prefix in ("Action: ", "Probe: ", "Rollback: "):
            if message.startswith(prefix):
                self.awaited = f"{prefix.lower().rstrip(': ')} {message[len(prefix):]}"

    def _beat(self) -> None:
        while not self.stop.wait(PROGRESS_EVERY_S):
            self.game_day.say(f"  {self.what}: {time.monotonic() - self.started:.0f}s elapsed, waiting for {self.awaited}")

    def __enter__(self) -> _Progress:
        logging.getLogger("chaostoolkit").addHandler(self)
        threading.Thread(target=self._beat, name="progress", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        logging.getLogger("chaostoolkit").removeHandler(self)


def _show_progress(out: TextIO) -> None:
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("[%(asctime)s]   %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("chaostoolkit")
    for old in [h for h in logger.handlers if getattr(h, "zerospof", False)]:
        logger.removeHandler(old)
    handler.zerospof = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
