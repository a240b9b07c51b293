"""Chaos Toolkit actions and probes for ``experiments/aws/*.yaml``: thin wrappers over the suite.

Actions leave their faults in effect with an open ledger record; the experiment's rollback
(``revert_open_faults``, with ``runtime.rollbacks.strategy: always``) reverts them, exactly as
``zerospof revert`` would. Probes return plain dicts; detection probes include ``"detected"``.
"""

from __future__ import annotations

import io
import time
from dataclasses import asdict
from typing import Any

from zerospof.aws.clients import AwsClients
from zerospof.aws.probes import alb_target_health, cloudwatch_alarm, route53_health_check
from zerospof.aws.route53_health import Route53HealthChecks
from zerospof.aws.run import _bind, dry_run_scenario, preflight, runner_subnet_ids
from zerospof.aws.scenarios import kube_params, plan_faults
from zerospof.aws.target import load_aws_target
from zerospof.errors import FaultNotInEffect
from zerospof.faults.ledger import Ledger, RecordState
from zerospof.k8s import probes as k8s_probes
from zerospof.k8s.clients import KubeClients

__all__ = [
    "inject_scenario", "nothing_detected", "probe_alb_targets", "probe_argocd_application", "probe_cloudwatch_alarms",
    "probe_lease_holder", "probe_nodes_ready", "probe_route53_health_checks", "revert_open_faults",
]


def _ledger(ledger_dir: str) -> Ledger:
    return Ledger(ledger_dir or None)


def inject_scenario(target_path: str, scenario: str, dry_run: bool = False, ledger_dir: str = "",
                    verify_timeout_s: float = 60.0) -> dict[str, Any]:
    """Inject every fault of ``scenario`` and verify each is in effect; leave them for the rollback to revert.

    Returns ``{"records": [...], "t0_wall": epoch seconds}``; with ``dry_run`` returns the planned calls.
    A fault that fails to inject or verify is reverted, with those before it, before the error is raised.
    """
    target = load_aws_target(target_path)
    if dry_run:
        out = io.StringIO()
        run = dry_run_scenario(target, scenario, out)
        return {"dry_run": True, "calls": [asdict(call) for call in run.planned_calls], "output": out.getvalue()}
    clients = AwsClients(target.endpoint_url)
    preflight(target, clients)
    ledger = _ledger(ledger_dir)
    opened = []
    try:
        for fault in (_bind(f, clients) for f in plan_faults(target, scenario, runner_subnet_ids(target))):
            record = ledger.open(fault, run_id=f"chaos-{scenario}")
            opened.append((record, fault))
            record.step(RecordState.INJECTING, fault)
            fault.inject()
            record.step(RecordState.INJECTED, fault)
            _verify_until(fault, verify_timeout_s)
            record.step(RecordState.VERIFIED, fault)
    except BaseException:
        for record, fault in reversed(opened):
            record.step(RecordState.REVERTING, fault)
            fault.revert()
            record.step(RecordState.REVERTED, fault)
        raise
    return {"records": [record.id for record, _ in opened], "t0_wall": time.time()}


def _verify_until(fault: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fault.verify()
            return
        except FaultNotInEffect:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def revert_open_faults(ledger_dir: str = "") -> list[dict[str, Any]]:
    """Revert every open ledger record (what ``zerospof revert`` does); report each."""
    return [asdict(report) for report in _ledger(ledger_dir).revert_open()]


def probe_alb_targets(target_path: str, zone: str = "") -> dict[str, Any]:
    """ALB target health over every target group of the target file; detected when any target is unhealthy."""
    target = load_aws_target(target_path)
    clients = AwsClients(target.endpoint_url)
    groups = {arn: alb_target_health(clients, region, arn, zone or None) for region, arn in target.detection.alb_target_groups}
    return {"target_groups": groups, "detected": any(g["detected"] for g in groups.values())}


def probe_cloudwatch_alarms(target_path: str, since_wall: float = 0.0) -> dict[str, Any]:
    """CloudWatch alarms of the target file; detected when any entered ALARM at or after ``since_wall``."""
    target = load_aws_target(target_path)
    clients = AwsClients(target.endpoint_url)
    alarms = {name: cloudwatch_alarm(clients, region, name, since_wall) for region, name in target.detection.cloudwatch_alarms}
    return {"alarms": alarms, "detected": any(a["detected"] for a in alarms.values())}


def probe_route53_health_checks(target_path: str) -> dict[str, Any]:
    """Route 53 health checks of the target file; detected when any is reported unhealthy by most checkers."""
    target = load_aws_target(target_path)
    source = Route53HealthChecks(AwsClients(target.endpoint_url).client("route53", "us-east-1"))
    checks = {check: route53_health_check(source, check) for check in target.detection.route53_health_check_ids}
    return {"health_checks": checks, "detected": any(c["detected"] for c in checks.values())}


def _kube(target_path: str, cluster: str) -> KubeClients:
    target = load_aws_target(target_path)
    return KubeClients.from_params({"kube": kube_params(target, target.cluster(cluster))})


def probe_nodes_ready(target_path: str, cluster: str) -> dict[str, Any]:
    """Node Ready conditions of the cluster's selected nodes; detected when any is NotReady."""
    target = load_aws_target(target_path)
    return k8s_probes.node_readiness(_kube(target_path, cluster), target.cluster(cluster).node_label_selector)


def probe_lease_holder(target_path: str, cluster: str, namespace: str, name: str, baseline_holder: str = "") -> dict[str, Any]:
    """Holder of a coordination.k8s.io Lease; detected when it differs from ``baseline_holder``."""
    return k8s_probes.lease_holder(_kube(target_path, cluster), namespace, name, baseline_holder or None)


def probe_argocd_application(target_path: str, cluster: str, namespace: str, name: str) -> dict[str, Any]:
    """Argo CD Application sync and health; detected when not Synced or not Healthy."""
    return k8s_probes.argocd_application(_kube(target_path, cluster), namespace, name)


def nothing_detected(value: dict[str, Any] | None = None) -> bool:
    """Tolerance for steady-state probes: True when the probe's result reports no detection."""
    return bool(value is not None and not value.get("detected"))
