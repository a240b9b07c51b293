"""``zerospof run``: the game day. Every scenario on a target, measured, judged and reported."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from zerospof.chaos.runner import ScenarioResult, experiment_path, run_experiment_file
from zerospof.chaos.settings import new_run_id
from zerospof.errors import ConfigError
from zerospof.objectives import SCENARIOS, load_objectives
from zerospof.report import format_table, result_rows, summary_markdown, timeline_chart
from zerospof.targets import LabTarget, resolve_target
from zerospof.validate import validate_experiment

__all__ = ["register", "run_game_day", "validate_game_day"]


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("run", help="run failover scenarios, measure them and judge them against the objectives")
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=f"default: all of {', '.join(SCENARIOS)}")
    parser.add_argument("--target", default="lab", help="'lab' (default) or the path of a target file")
    parser.add_argument("--objectives", default="objectives.yaml", help="objectives file (default: objectives.yaml)")
    parser.add_argument("--keep-lab", action="store_true", help="leave the lab running afterwards")
    parser.add_argument("--reports", default="reports", help="reports directory (default: reports)")
    parser.add_argument("--dry-run", action="store_true",
                        help="AWS targets: print every call each scenario would make, change nothing")
    parser.set_defaults(handler=_run_command)


def _run_command(args: argparse.Namespace) -> int:
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        raise ConfigError("command line", "SCENARIO", f"unknown scenario; expected one of: {', '.join(SCENARIOS)}",
                          unknown[0])
    if args.dry_run:
        if isinstance(resolve_target(args.target), LabTarget):
            raise ConfigError("command line", "--dry-run", "only for AWS target files", args.target)
        validate_game_day(args.scenarios or list(SCENARIOS), args.target, Path(args.objectives))
        from zerospof.aws.run import print_dry_run
        print_dry_run(args.target, args.scenarios or list(SCENARIOS))
        return 0
    results = run_game_day(args.scenarios or list(SCENARIOS), args.target, Path(args.objectives),
                           Path(args.reports), keep_lab=args.keep_lab)
    return 0 if results and all(result.passed for result in results) else 1


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def validate_game_day(scenarios: list[str], target: str, objectives_path: Path) -> tuple[str, dict[str, Path]]:
    """Validate the objectives, the target and each scenario's experiment (and, on AWS, the target's zones against
    the account) before anything changes; return the target kind and the experiment paths."""
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
                 keep_lab: bool = False) -> list[ScenarioResult]:
    """Validate everything, bring the lab up if needed, run each scenario, write the report."""
    kind, paths = validate_game_day(scenarios, target, objectives_path)
    run_id = new_run_id()
    run_dir = reports_dir / run_id
    _say(f"game day {run_id} on target {target!r}: {', '.join(scenarios)}")
    _show_progress()
    lab = _lab_up() if kind == "lab" else None
    results: list[ScenarioResult] = []
    try:
        for scenario in scenarios:
            _say(f"scenario {scenario}: starting")
            started = time.monotonic()
            result = run_experiment_file(paths[scenario], {
                "zerospof_target": target, "zerospof_objectives": str(objectives_path),
                "zerospof_run_id": f"{run_id}-{scenario}", "zerospof_run_dir": str(run_dir / scenario),
            })
            if (result.run_dir / "timeline.jsonl").exists():
                timeline_chart(result.timeline(), result.run_dir / "timeline.png", f"{scenario} ({run_id})", result.report)
            results.append(result)
            _say(f"scenario {scenario}: {'PASS' if result.passed else 'FAIL'} in {time.monotonic() - started:.0f}s")
    finally:
        if lab is not None and not keep_lab:
            _say("bringing the lab down")
            lab.down()
    reports = {result.scenario: result.report for result in results}
    (run_dir / "measurements.json").write_text(json.dumps({"schema": "zerospof.game-day/1", "run_id": run_id,
                                                           "target": target, "scenarios": reports}, indent=2, default=str))
    (run_dir / "summary.md").write_text(summary_markdown(run_id, target, reports))
    print()
    print(format_table(result_rows(reports)))
    print(f"\nreport: {run_dir / 'summary.md'}")
    return results


def _show_progress() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(asctime)s]   %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("chaostoolkit")
    if not any(getattr(h, "zerospof", False) for h in logger.handlers):
        handler.zerospof = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _lab_up() -> Any:
    from zerospof.lab import Lab

    lab = Lab()
    _say("bringing the lab up (or checking it is up)")
    lab.up()
    return lab
