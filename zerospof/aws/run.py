"""Preflight and dry run of an AWS + EKS target.

``print_dry_run(target_path, scenarios)`` is what ``zerospof run --target <file> --dry-run`` calls for a
``kind: aws`` target: every change a scenario would make is printed, none is made. A real run goes
through the Chaos Toolkit experiments ``experiments/aws/<scenario>.yaml`` and
:class:`~zerospof.aws.driver.AwsDriver`, like every target.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from zerospof.cloud.boundary import CloudApiError
from zerospof.aws.clients import AwsClients
from zerospof.aws.dr_actions import documented_dr_action
from zerospof.cloud.dry_run import CallRecorder, PlannedCall
from zerospof.aws.fault_base import AwsFault
from zerospof.aws.git_rpo_canary import MAX_PUSHES, GitRpoCanary
from zerospof.aws.gitops_canary import CanaryCommit, GitCanary
from zerospof.aws.safety import check_account_allowed, runner_subnets
from zerospof.aws.scenarios import plan_faults
from zerospof.aws.target import SCENARIOS, AwsTarget, load_aws_target
from zerospof.errors import NoAccess
from zerospof.faults.base import Fault
from zerospof.k8s.clients import KubeClients
from zerospof.k8s.fault_base import KubeFault

__all__ = ["DryRun", "bind_dry", "dry_run_scenario", "print_dry_run", "preflight", "runner_subnet_ids"]


@dataclass
class DryRun:
    """What a scenario would do: its faults, the calls that would change something, the DR action, the canary commit,
    the first GitOps RPO canary push."""

    scenario: str
    faults: list[str]
    planned_calls: list[PlannedCall] = field(default_factory=list)
    dr_action: dict[str, Any] | None = None
    canary_commit: CanaryCommit | None = None
    rpo_canary_push: dict[str, Any] | None = None


def runner_subnet_ids(target: AwsTarget) -> list[str]:
    """Subnets the runner uses: the target's ``safety.runner.subnet_ids`` plus, when asked, those of this EC2 instance
    (SafetyRefusal when that cannot be told and the target file neither names them nor accepts the risk)."""
    return runner_subnets(target.safety.runner_subnet_ids, target.safety.discover_runner_subnets,
                          target.safety.allow_runner_blackhole)


def preflight(target: AwsTarget, clients: AwsClients) -> str:
    """Refuse (SafetyRefusal) an account or kube context not on the allow-lists; return the account id.

    No credentials, an expired token, access denied or an unreachable STS endpoint raise
    :class:`~zerospof.errors.NoAccess` at once (a harness error, exit 3): waiting would not help.
    """
    try:
        account = check_account_allowed(clients.client("sts", target.primary_region), target.allowed_account_ids)
    except CloudApiError as exc:
        if not exc.is_access_problem:
            raise
        raise NoAccess(f"no access to AWS for target {target.name} ({target.path}): {exc}") from exc
    for cluster in target.clusters:
        KubeClients(cluster.context, target.allowed_contexts, cluster.kubeconfig)  # refuses a context not allowed
    return account


def bind_dry(fault: Fault, clients: AwsClients) -> Fault:
    """Make ``fault`` act through ``clients`` (and, for k8s faults, the same recorder)."""
    if isinstance(fault, AwsFault):
        fault.use_clients(clients)
    elif isinstance(fault, KubeFault):
        fault.use_kube(KubeClients.from_params(fault.params, clients.recorder))
    return fault


def dry_run_scenario(target: AwsTarget, scenario: str, out: TextIO | None = None,
                     clients: AwsClients | None = None) -> DryRun:
    """Print every change the scenario would make (service, operation, parameters), making none.

    Reads (safety checks, describing the selected resources, fetching the GitOps canary's branch)
    go to the real APIs and remotes; every other call (the canary's push too) is recorded and
    printed instead of sent. The ledger is not written.
    """
    out = out if out is not None else sys.stdout
    recorder = CallRecorder(out=out)
    clients = (clients or AwsClients(target.endpoint_url)).dry(recorder)
    preflight(target, clients)
    faults = [bind_dry(f, clients) for f in plan_faults(target, scenario, runner_subnet_ids(target))]
    print(f"# dry run of {scenario} on {target.name}: {len(faults)} fault(s); nothing below is sent", file=out)
    for fault in faults:
        print(f"# inject {fault.describe()}", file=out)
        fault.prepare()
        print(f"# recorded before any change: {json.dumps(fault.undo, sort_keys=True, default=str)}", file=out)
        fault.inject()
    run = DryRun(scenario, [f.describe() for f in faults])
    canary = target.gitops_canary
    if scenario == "gitops" and canary is not None:
        print(f"# commit the GitOps canary: a new revision in {canary.file} on {canary.branch} of {canary.repository}, "
              "pushed as a fast-forward (the remote is read, nothing is pushed)", file=out)
        run.canary_commit = GitCanary(canary, recorder).commit("dry-run")
    if scenario == "gitops" and canary is not None and canary.rpo_branch is not None:
        print(f"# the GitOps RPO write canary: from before the fault until the read-back, about once a second (at most "
              f"{MAX_PUSHES}), a numbered empty commit tagged with the run id on {canary.rpo_branch} of "
              f"{canary.repository}, pushed as a fast-forward; the first would be (nothing is pushed):", file=out)
        rpo_canary = GitRpoCanary(canary, "dry-run", recorder)
        try:
            run.rpo_canary_push = rpo_canary.write()
        finally:
            rpo_canary.close()
    if scenario == "region-failure":
        run.dr_action = documented_dr_action(target, clients)
    for fault in reversed(faults):
        print(f"# revert {fault.describe()} (restores what was recorded above)", file=out)
        fault.revert()
    run.planned_calls = list(recorder.calls)
    return run


def print_dry_run(target_path: str | Path, scenarios: list[str] | None = None, out: TextIO | None = None) -> list[DryRun]:
    """Validate the target file, then dry-run each scenario (all four by default) in turn."""
    target = load_aws_target(target_path)
    chosen = list(scenarios or SCENARIOS)
    for scenario in chosen:  # every chosen scenario must be described before anything is printed
        plan_faults(target, scenario, list(target.safety.runner_subnet_ids))
    return [dry_run_scenario(target, scenario, out) for scenario in chosen]
