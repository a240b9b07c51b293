"""Turn a target file's scenario section into the faults to inject, in order (outermost first)."""

from __future__ import annotations

from typing import Any

from zerospof.aws.fis import FisExperiment
from zerospof.aws.nacl_blackhole import NaclBlackhole
from zerospof.aws.sg_ingress_cut import SecurityGroupIngressCut
from zerospof.aws.target import SCENARIOS, AwsTarget, Cluster
from zerospof.errors import ConfigError
from zerospof.faults.base import Fault
from zerospof.k8s.flux_suspend import FluxSuspend
from zerospof.k8s.pod_kill import PodKill
from zerospof.k8s.scale import ScaleWorkload
from zerospof.k8s.zone_drain import ZoneDrain

__all__ = ["LEADER_ELECTED_COMPONENTS", "aws_params", "blackhole", "kube_params", "leader_lease", "plan_faults"]

LEADER_ELECTED_COMPONENTS = ("kube-scheduler", "kube-controller-manager")


def kube_params(target: AwsTarget, cluster: Cluster) -> dict[str, Any]:
    """The ``kube`` params of a fault in ``cluster``."""
    return {"context": cluster.context, "allowed_contexts": list(target.allowed_contexts), "kubeconfig": cluster.kubeconfig}


def aws_params(target: AwsTarget, region: str) -> dict[str, Any]:
    """The params every AWS fault in ``region`` takes (region, account allow-list, endpoint)."""
    return {"region": region, "allowed_account_ids": list(target.allowed_account_ids), "endpoint_url": target.endpoint_url}


def blackhole(target: AwsTarget, zones: list[str], runner_subnet_ids: list[str],
              subnet_ids: list[str] | None = None) -> NaclBlackhole:
    """Blackhole the tagged subnets of ``zones`` in the primary region (every zone: none named; only ``subnet_ids``
    of them when given)."""
    return NaclBlackhole({**aws_params(target, target.primary_region), "availability_zones": zones,
                          "selection_tags": dict(target.selection_tags), "runner_subnet_ids": list(runner_subnet_ids),
                          "allow_runner_blackhole": target.safety.allow_runner_blackhole,
                          **({"subnet_ids": list(subnet_ids)} if subnet_ids else {})})


def leader_lease(label_selector: str) -> dict[str, str] | None:
    """Return the Lease whose holder is the active instance of the component ``label_selector`` selects, or None.

    kube-scheduler and kube-controller-manager elect a leader through the Lease named after them in
    ``kube-system`` (their ``--leader-elect-resource-namespace`` default); a selector requiring
    ``component=<one of them>`` (the label kubeadm gives their static pods) selects that component.
    """
    terms = {term.replace(" ", "").replace("==", "=") for term in label_selector.split(",")}
    for component in LEADER_ELECTED_COMPONENTS:
        if f"component={component}" in terms:
            return {"namespace": "kube-system", "name": component}
    return None


def _pod_kill(params: dict[str, Any], lease: dict[str, str] | None) -> PodKill:
    """Kill the pods ``params`` select; with ``lease``, only the one holding it (its standby then takes over)."""
    return PodKill({**params, "lease": lease} if lease else params)


def _control_plane_pod_kill(target: AwsTarget, cluster: Cluster, namespace: str, label_selector: str) -> PodKill:
    """Kill one pod of a self-managed control-plane component: the lease holder when the component elects a leader."""
    params: dict[str, Any] = {"kube": kube_params(target, cluster), "namespace": namespace,
                              "label_selector": label_selector, "limit": 1}
    return _pod_kill(params, leader_lease(label_selector))


def plan_faults(target: AwsTarget, scenario: str, runner_subnet_ids: list[str] | tuple[str, ...] = ()) -> list[Fault]:
    """Return the faults of ``scenario`` for ``target``; ConfigError when the target does not describe it."""
    if scenario not in SCENARIOS:
        raise ConfigError(target.path, "scenarios", f"unknown scenario; expected one of {list(SCENARIOS)}", scenario)
    missing = ConfigError(target.path, f"scenarios.{scenario}", "this scenario is not described in the target file")
    runner = list(runner_subnet_ids)
    if scenario == "az-failure":
        plan = target.az_failure
        if plan is None:
            raise missing
        faults: list[Fault] = []
        if plan.fis_power_interruption_template_id:
            faults.append(FisExperiment({**aws_params(target, target.primary_region),
                                         "template_id": plan.fis_power_interruption_template_id}))
        else:
            faults.append(blackhole(target, [plan.availability_zone], runner))
        if plan.drain_nodes and plan.drain_cluster:
            cluster = target.cluster(plan.drain_cluster)
            faults.append(ZoneDrain({"kube": kube_params(target, cluster), "zone": plan.availability_zone,
                                     "node_label_selector": cluster.node_label_selector}))
        return faults
    if scenario == "region-failure":
        region_plan = target.region_failure
        if region_plan is None:
            raise missing
        if region_plan.fis_template_id:
            return [FisExperiment({**aws_params(target, target.primary_region), "template_id": region_plan.fis_template_id})]
        return [blackhole(target, [], runner)]
    if scenario == "control-plane":
        cp = target.control_plane
        if cp is None:
            raise missing
        cluster = target.cluster(cp.cluster)
        if cluster.managed:
            return [SecurityGroupIngressCut({**aws_params(target, cluster.region),
                                             "selection_tags": dict(target.selection_tags),
                                             "security_group_tags": dict(cp.security_group_tags), "api_port": cp.api_port})]
        return [_control_plane_pod_kill(target, cluster, cp.self_managed_namespace, selector)
                for selector in cp.self_managed_pod_selectors]
    gitops = target.gitops
    if gitops is None:
        raise missing
    controller = target.controller(gitops.controller)
    params: dict[str, Any] = {"kube": kube_params(target, target.cluster(controller.cluster)), "namespace": controller.namespace}
    if gitops.method == "delete-pod":  # the leader alone when the target names the controller's Lease
        return [_pod_kill({**params, "label_selector": controller.pod_label_selector}, controller.leader_lease)]
    if gitops.method == "suspend":
        return [FluxSuspend(params)]
    return [ScaleWorkload({**params, "workload_kind": controller.workload_kind, "name": controller.workload_name, "replicas": 0})]
