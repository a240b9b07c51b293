"""Run scenarios against an AWS + EKS target: preflight safety checks, dry run, inject / hold / revert.

``run_aws(target_path, scenarios, dry_run=...)`` is what ``zerospof run --target <file>`` calls
for a ``kind: aws`` target.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from zerospof.aws.clients import AwsClients
from zerospof.aws.dr_actions import failover_aurora
from zerospof.aws.dry_run import CallRecorder, PlannedCall
from zerospof.aws.fault_base import AwsFault
from zerospof.aws.safety import check_account_allowed, discover_runner_subnet_ids
from zerospof.aws.scenarios import plan_faults
from zerospof.aws.target import SCENARIOS, AwsTarget, load_aws_target
from zerospof.faults.base import Fault
from zerospof.faults.ledger import Ledger
from zerospof.faults.runner import injected
from zerospof.k8s.clients import KubeClients
from zerospof.k8s.fault_base import KubeFault
from zerospof.timeline import EventKind, Timeline

__all__ = ["ScenarioRun", "dry_run_scenario", "preflight", "run_aws", "run_scenario", "runner_subnet_ids"]


@dataclass
class ScenarioRun:
    """What one scenario run did."""

    scenario: str
    faults: list[str]
    dry_run: bool
    planned_calls: list[PlannedCall] = field(default_factory=list)
    dr_action: dict[str, Any] | None = None
    timeline: Timeline | None = None


def runner_subnet_ids(target: AwsTarget) -> list[str]:
    """Subnets the runner uses: the target's ``safety.runner.subnet_ids`` plus, when allowed, those of this EC2 instance."""
    found = list(target.safety.runner_subnet_ids)
    if target.safety.discover_runner_subnets:
        found += discover_runner_subnet_ids()
    return sorted(set(found))


def preflight(target: AwsTarget, clients: AwsClients) -> str:
    """Refuse (SafetyRefusal) an account or kube context not on the allow-lists; return the account id."""
    account = check_account_allowed(clients.client("sts", target.primary_region), target.allowed_account_ids)
    for cluster in target.clusters:
        KubeClients(cluster.context, target.allowed_contexts, cluster.kubeconfig)  # refuses a context not allowed
    return account


def _bind(fault: Fault, clients: AwsClients) -> Fault:
    """Make ``fault`` act through ``clients`` (and, for k8s faults, the same recorder)."""
    if isinstance(fault, AwsFault):
        fault.use_clients(clients)
    elif isinstance(fault, KubeFault):
        fault.use_kube(KubeClients.from_params(fault.params, clients.recorder))
    return fault


def dry_run_scenario(target: AwsTarget, scenario: str, out: TextIO | None = None,
                     clients: AwsClients | None = None) -> ScenarioRun:
    """Print every change the scenario would make (service, operation, parameters), making none.

    Reads (safety checks, describing the selected resources) go to the real APIs; every other
    call is recorded and printed instead of sent. The ledger is not written.
    """
    out = out if out is not None else sys.stdout
    recorder = CallRecorder(out=out)
    clients = (clients or AwsClients(target.endpoint_url)).dry(recorder)
    preflight(target, clients)
    faults = [_bind(f, clients) for f in plan_faults(target, scenario, runner_subnet_ids(target))]
    print(f"# dry run of {scenario} on {target.name}: {len(faults)} fault(s); nothing below is sent", file=out)
    for fault in faults:
        print(f"# inject {fault.describe()}", file=out)
        fault.prepare()
        print(f"# recorded before any change: {json.dumps(fault.undo, sort_keys=True, default=str)}", file=out)
        fault.inject()
    run = ScenarioRun(scenario, [f.describe() for f in faults], True)
    run.dr_action = _dr_action(target, clients)
    for fault in reversed(faults):
        print(f"# revert {fault.describe()} (restores what was recorded above)", file=out)
        fault.revert()
    run.planned_calls = list(recorder.calls)
    return run


def _dr_action(target: AwsTarget, clients: AwsClients) -> dict[str, Any] | None:
    plan = target.region_failure
    if plan is None or plan.recovery != "manual" or plan.aurora_cluster_id is None or target.dr_region is None:
        return None
    return failover_aurora(clients, target.dr_region, plan.aurora_cluster_id, plan.aurora_target_instance_id)


def run_scenario(target: AwsTarget, scenario: str, *, hold_s: float = 120.0, ledger: Ledger | None = None,
                 timeline: Timeline | None = None, clients: AwsClients | None = None, run_id: str | None = None,
                 during: Callable[[Timeline], None] | None = None) -> ScenarioRun:
    """Inject the scenario's faults (each verified in effect), hold ``hold_s``, and always revert.

    Each fault goes through :func:`~zerospof.faults.runner.injected`: a ledger record is written
    before anything changes, and SIGINT/SIGTERM/exceptions revert. ``during`` (e.g. the monitors'
    sampling loop) is called once all faults are in effect; the default just waits ``hold_s``.
    For a region failure with ``recovery: manual`` the documented DR action runs after t0.
    """
    clients = clients or AwsClients(target.endpoint_url)
    timeline = timeline if timeline is not None else Timeline()
    preflight(target, clients)
    faults = [_bind(f, clients) for f in plan_faults(target, scenario, runner_subnet_ids(target))]
    run = ScenarioRun(scenario, [f.describe() for f in faults], False, timeline=timeline)
    with contextlib.ExitStack() as stack:
        for fault in faults:
            stack.enter_context(injected(fault, ledger=ledger, timeline=timeline, run_id=run_id))
        if scenario == "region-failure":
            run.dr_action = _dr_action(target, clients)
            if run.dr_action is not None:
                timeline.event(EventKind.NOTE, "dr-action", **run.dr_action)
        if during is not None:
            during(timeline)
        else:
            time.sleep(hold_s)
    return run


def run_aws(target_path: str | Path, scenarios: list[str] | None = None, *, dry_run: bool = False,
            hold_s: float = 120.0, ledger_dir: str | Path | None = None, out: TextIO | None = None) -> list[ScenarioRun]:
    """Validate the target file, then dry-run or run each scenario (all four by default) in turn."""
    target = load_aws_target(target_path)
    chosen = list(scenarios or SCENARIOS)
    for scenario in chosen:  # every chosen scenario must be described before any fault runs
        plan_faults(target, scenario, list(target.safety.runner_subnet_ids))
    if dry_run:
        return [dry_run_scenario(target, scenario, out) for scenario in chosen]
    ledger = Ledger(ledger_dir)
    return [run_scenario(target, scenario, hold_s=hold_s, ledger=ledger) for scenario in chosen]
