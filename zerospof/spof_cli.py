"""``zerospof spof``: fail every redundant member alone, judge each, write the matrix.

Exit codes: 0 no member is a single point of failure and every layer in scope was validated;
1 a SPOF was found or a layer in scope has no member to fail (not validated); 2 bad input;
3 a member could not be failed or the target did not heal (harness or target error).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

from zerospof.errors import ConfigError

__all__ = ["register"]

EXAMPLES = """examples:
  zerospof spof                                  # every member of the running lab (brought up if needed)
  zerospof spof --layer data --layer dns         # only those layers
  zerospof spof --member pg-r1-a --member dns1   # only those members
  zerospof spof --dry-run                        # list the members and what would be done, touch nothing
"""


LAYERS = ("network", "compute", "control", "data", "dns", "cicd", "gitops", "security")  # zerospof.spof.SEED_LAYERS


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("spof", help="fail every redundant member alone and find single points of failure",
                                 description=__doc__, epilog=EXAMPLES,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="lab", help="'lab' (default; AWS target files: not yet)")
    parser.add_argument("--layer", action="append", choices=LAYERS, help="only this checklist layer")
    parser.add_argument("--member", action="append", metavar="NAME", help="only this member (as lab status names it)")
    parser.add_argument("--objectives", default="objectives.yaml")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--max-hold", default="60s", help="longest a member stays failed (default 60s)")
    parser.add_argument("--keep-lab", action="store_true", help="leave the lab running afterwards")
    parser.add_argument("--dry-run", action="store_true", help="list members and faults; change nothing")
    parser.add_argument("--json", action="store_true", help="print spof.json's document on stdout at the end "
                                                            "(progress goes to stderr)")
    parser.set_defaults(handler=_spof)


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _spof(args: argparse.Namespace) -> int:
    import contextlib
    import sys

    real_stdout = sys.stdout
    if args.json:  # everything but the document goes to stderr
        with contextlib.redirect_stdout(sys.stderr):
            return _sweep(args, real_stdout)
    return _sweep(args, real_stdout)


def _sweep(args: argparse.Namespace, real_stdout: Any) -> int:
    from zerospof.chaos.settings import new_run_id
    from zerospof.faults import Ledger
    from zerospof.lab import Lab
    from zerospof.lab.members import describe, lab_members, lab_sweep_target
    from zerospof.objectives import load_objectives
    from zerospof.spof import SEED_LAYERS, Outcome, implied_availability, sweep
    from zerospof.units import parse_duration_s

    if args.target != "lab":
        raise ConfigError("command line", "--target", "the SPOF sweep runs on the lab for now", args.target)
    objectives = load_objectives(args.objectives)
    try:
        max_hold_s = parse_duration_s(args.max_hold)
    except ValueError as exc:
        raise ConfigError("command line", "--max-hold", str(exc), args.max_hold) from exc
    lab = Lab()
    started_lab = False
    if not lab.status()["supervisor"]:
        if args.dry_run:
            raise ConfigError("command line", "--dry-run", "lists the members of a running lab: run 'zerospof lab up'",
                              None)
        _say("bringing the lab up")
        lab.up()
        started_lab = True
    try:
        members = lab_members(lab)
        unknown = sorted(set(args.member or ()) - {m.name for m in members})
        if unknown:
            raise ConfigError("command line", "--member", f"no such member; known: {', '.join(m.name for m in members)}",
                              unknown[0])
        selected = [m for m in members if (not args.layer or m.layer in args.layer)
                    and (not args.member or m.name in args.member)]
        if args.dry_run:
            for member in selected:
                print(json.dumps(describe(member)), file=real_stdout)
            return 0
        run_id = new_run_id()
        run_dir = Path(args.reports) / f"{run_id}-spof"
        _say(f"SPOF sweep {run_id}: {len(selected)} members")
        results, timelines = sweep(lab_sweep_target(lab), objectives, Ledger(), run_id, args.layer, args.member,
                                   max_hold_s=max_hold_s, say=_say, timelines_dir=run_dir / "members")
    finally:
        if started_lab and not args.keep_lab:
            _say("bringing the lab down")
            lab.down()
    in_scope = list(dict.fromkeys(args.layer or ([] if args.member else list(SEED_LAYERS))))
    in_scope += [m.layer for m in selected if m.layer not in in_scope]
    unvalidated = [layer for layer in in_scope if not any(r.member.layer == layer for r in results)]
    implied = implied_availability(results, objectives.failure_rates_per_year, objectives)
    _write(run_dir, run_id, results, timelines, unvalidated, implied)
    print()
    print(matrix_table(results))
    print()
    print(implied_text(implied))
    for layer in unvalidated:
        print(f"NOT VALIDATED: layer {layer}: the target has no member in it to fail")
    spofs = [r.member.name for r in results if r.outcome is Outcome.SPOF]
    errors = [r.member.name for r in results if r.outcome is Outcome.ERROR]
    print(f"\nSPOF: {', '.join(spofs) or 'none'}; not judged: {', '.join(errors) or 'none'}; report: {run_dir}")
    code = 3 if errors else (1 if spofs or unvalidated else 0)
    if args.json:
        document = json.loads((run_dir / "spof.json").read_text())
        print(json.dumps({**document, "exit_code": code}, indent=2), file=real_stdout)
    return code


def implied_text(implied: dict[str, Any]) -> str:
    """Implied availability per path, saying which numbers are assumed and which were measured."""
    lines = ["Implied availability (MEASURED: each member's user downtime when it failed alone; ASSUMED: "
             "failures per member per year by kind, objectives.yaml failure-rates: "
             + ", ".join(f"{k} {v:g}/year" for k, v in implied["assumed_failures_per_year"].items()) + ")"]
    for path, figures in implied["paths"].items():
        if figures["availability"] is None:
            lines.append(f"- {path}: unknown (not measured for {', '.join(figures['not_counted'])})")
            continue
        lines.append(f"- {path}: expected {figures['expected_downtime_s_per_year']:.0f}s of downtime a year = "
                     f"{100 * figures['availability']:.5f}% (objective {figures['objective_pct']:g}%: "
                     f"{'met' if figures['passed'] else 'MISSED'}); covers only the members swept")
    return "\n".join(lines)


def _format_s(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _recovered_text(*paths: dict[str, Any]) -> str:
    """The slowest measured path's RTO; "not recovered" when one never was, "-" when none was measured."""
    measured = [p for p in paths if p.get("measured")]
    if not measured:
        return "-"
    if any(p.get("rto_s") is None for p in measured):
        return "not recovered"
    return _format_s(max(p["rto_s"] for p in measured))


def layer_text(layer: dict[str, Any] | None) -> str:
    """When the member's layer check held after its loss; "never" when it did not, "-" when not checked."""
    if not layer or not layer.get("checked"):
        return "-"
    return "never" if layer.get("recovered_s") is None else _format_s(layer["recovered_s"])


def matrix_table(results: list[Any]) -> str:
    """The matrix: layer x member with read and write downtime, bad/slow requests, when users and the
    layer (its check: survivors carrying the member's job) recovered, verdict."""
    from zerospof.report import format_table

    rows = []
    for result in results:
        reads, writes = result.figures.get("reads", {}), result.figures.get("writes", {})
        rows.append((result.member.layer, result.member.name, _format_s(reads.get("downtime_s")),
                     _format_s(writes.get("downtime_s")),
                     "/".join(f"{p['slow_requests']:g}" if p.get("measured") else "-" for p in (reads, writes)),
                     _recovered_text(reads, writes), layer_text(result.figures.get("layer")),
                     result.outcome.value.upper()))
    return format_table(rows, ("layer", "member", "read downtime", "write downtime", "slow r/w", "recovered in",
                               "layer took over", "verdict"))


def _write(run_dir: Path, run_id: str, results: list[Any], timelines: dict[str, Any], unvalidated: list[str],
           implied: dict[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    document = {"schema": "zerospof.spof/1", "run_id": run_id, "target": "lab",
                "members": [r.to_dict() for r in results], "not_validated": unvalidated,
                "implied_availability": implied}
    (run_dir / "spof.json").write_text(json.dumps(document, indent=2, default=str))
    for name, timeline in timelines.items():
        if len(timeline):
            timeline.write_jsonl(run_dir / "members" / name / "timeline.jsonl")
    (run_dir / "summary.md").write_text(
        f"# zerospof SPOF sweep {run_id}\n\n" + matrix_table(results) + "\n\n" + implied_text(implied) + "\n\n"
        + "".join(f"- NOT VALIDATED: {layer} (no member on this target)\n" for layer in unvalidated)
        + "".join(f"- **{r.member.name}** ({r.member.layer}): {r.outcome.value}: {'; '.join(r.reasons)}\n"
                  for r in results) + "\n![heat map](heatmap.png)\n")
    _junit(run_dir / "junit.xml", results)
    _heatmap(run_dir / "heatmap.png", results)
    from zerospof.html_report import write_html_reports

    write_html_reports(run_dir)  # index.html (the matrix) and the history page beside it


def _junit(path: Path, results: list[Any]) -> None:
    from xml.etree import ElementTree

    suite = ElementTree.Element("testsuite", name="zerospof-spof", tests=str(len(results)),
                                failures=str(sum(r.outcome.value == "spof" for r in results)),
                                errors=str(sum(r.outcome.value == "error" for r in results)))
    for result in results:
        case = ElementTree.SubElement(suite, "testcase", classname=f"spof.{result.member.layer}",
                                      name=f"{result.member.name} is not a single point of failure")
        if result.outcome.value in ("spof", "error"):
            tag = "failure" if result.outcome.value == "spof" else "error"
            ElementTree.SubElement(case, tag, message="; ".join(result.reasons))
    ElementTree.ElementTree(suite).write(path, encoding="unicode", xml_declaration=True)


def _heatmap(path: Path, results: list[Any]) -> None:
    """Members (rows) x read / write downtime (columns), coloured by downtime; the verdict written in."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results:
        return
    values = [[_downtime_or_nan(r.figures.get(p, {})) for p in ("reads", "writes")] for r in results]
    figure, axis = plt.subplots(figsize=(6, 0.3 * len(results) + 1.2), dpi=100)
    image = axis.imshow(values, cmap="Reds", aspect="auto", vmin=0)
    axis.set_xticks([0, 1], ["read downtime (s)", "write downtime (s)"])
    axis.set_yticks(range(len(results)), [f"{r.member.layer}: {r.member.name} ({r.outcome.value})" for r in results],
                    fontsize=7)
    for row, pair in enumerate(values):
        for column, value in enumerate(pair):
            axis.text(column, row, "n/a" if math.isnan(value) else f"{value:.1f}", ha="center", va="center",
                      fontsize=7)  # not measured: a blank cell marked n/a, never a 0
    figure.colorbar(image, ax=axis)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _downtime_or_nan(figures: dict[str, Any]) -> float:
    value = figures.get("downtime_s") if figures.get("measured") else None
    return float("nan") if value is None else float(value)
