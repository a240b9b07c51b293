"""The static SPOF audit of an AWS + EKS target: risks a member-by-member run cannot reach (read-only).

Each check reads the target file's inventory and the APIs, changes nothing, and reports a
:class:`~zerospof.spof.Finding` per risk, mapped to the seed's checklist layer:

=====================  ========  ================================================================
check                  layer     a finding when
=====================  ========  ================================================================
``replicas``           compute   a Deployment / StatefulSet in ``inventory.namespaces`` wants < 2 replicas
``one-zone``           compute   all of a workload's pods run on nodes of one zone
``disruption-budget``  compute   no PodDisruptionBudget selects a workload's pods
``spread``             compute   a workload's pod template has no topology spread and no pod anti-affinity
``node-group-zones``   compute   an EKS managed node group's subnets are all in one AZ
``lb-zones``           network   a tagged load balancer is in < 2 AZs
``dns-health-check``   dns       a Route 53 record set of ``inventory.dns.records`` has no health check
                                 (a failover SECONDARY may go without; an alias evaluating its target's
                                 health counts)
``dns-failover``       dns       a record has no failover partner: one record set, or a PRIMARY without
                                 a SECONDARY
``dns-secondary``      dns       no second DNS provider is declared, or one of its nameservers does not
                                 answer the records (UDP, ``DNS_TIMEOUT_S``)
``db-zones``           data      an ``inventory.databases`` cluster has no instance in a second AZ
``db-region``          data      ... and no member in the DR region (an Aurora global database)
``kms-replica``        security  an ``inventory.security.kms_keys`` key has no multi-Region replica in DR
``secret-replica``     security  an ``inventory.security.secrets`` secret has no InSync replica in DR
=====================  ========  ================================================================

A check with nothing declared to look at is reported "not audited" with the reason, never as clean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zerospof.aws.clients import AwsClients, paged
from zerospof.aws.members import (
    key_regions, node_zones, record_sets, secret_regions, selector_of, tagged_balancers,
)
from zerospof.aws.target import AwsTarget, Cluster
from zerospof.cloud.boundary import CloudApiError
from zerospof.k8s.clients import KubeClients
from zerospof.spof import Finding

__all__ = ["AUDIT_CHECKS", "Audit", "audit_aws"]

DNS_TIMEOUT_S = 1.0
AUDIT_CHECKS = {  # check -> layer
    "replicas": "compute", "one-zone": "compute", "disruption-budget": "compute", "spread": "compute",
    "node-group-zones": "compute", "lb-zones": "network", "dns-health-check": "dns", "dns-failover": "dns",
    "dns-secondary": "dns", "db-zones": "data", "db-region": "data", "kms-replica": "security",
    "secret-replica": "security",
}


@dataclass
class Audit:
    """The audit's result: ``findings``; ``checked``: checks that ran; ``not_audited``: check -> why it did not."""

    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    not_audited: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def layer_of(check: str) -> str:
        """The checklist layer ``check`` audits."""
        return AUDIT_CHECKS[check]

    def find(self, check: str, subject: str, message: str) -> None:
        self.findings.append(Finding(AUDIT_CHECKS[check], check, subject, message))

    def ran(self, *checks: str) -> None:
        self.checked += [c for c in checks if c not in self.checked]

    def skip(self, reason: str, *checks: str) -> None:
        for check in checks:
            self.not_audited.setdefault(check, reason)

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings], "checked": self.checked,
                "not_audited": self.not_audited}


def audit_aws(target: AwsTarget, clients: AwsClients, kube_for: Callable[[Cluster], KubeClients]) -> Audit:
    """Run every check on ``target`` (read-only; API errors propagate as CloudApiError)."""
    audit = Audit()
    inventory = target.inventory
    if inventory.cluster is not None and inventory.namespaces:
        _workloads(audit, kube_for(target.cluster(inventory.cluster)), inventory.namespaces)
    else:
        audit.skip("no inventory.cluster with inventory.namespaces", "replicas", "one-zone", "disruption-budget", "spread")
    _node_groups(audit, target, clients)
    _load_balancers(audit, target, clients)
    _dns(audit, target, clients)
    _databases(audit, target, clients)
    _security(audit, target, clients)
    return audit


# -- Kubernetes workloads ----------------------------------------------------------------------------------------
def _workloads(audit: Audit, kube: KubeClients, namespaces: tuple[str, ...]) -> None:
    audit.ran("replicas", "one-zone", "disruption-budget", "spread")
    zones = node_zones(kube)
    policy = kube.policy
    for namespace in namespaces:
        budgets = policy.list_namespaced_pod_disruption_budget(namespace).items
        workloads = [("deployment", w) for w in kube.apps.list_namespaced_deployment(namespace).items]
        workloads += [("statefulset", w) for w in kube.apps.list_namespaced_stateful_set(namespace).items]
        for kind, workload in workloads:
            subject = f"{kind} {namespace}/{workload.metadata.name}"
            replicas = workload.spec.replicas if workload.spec.replicas is not None else 1
            if replicas < 2:
                audit.find("replicas", subject, f"wants {replicas} replica(s): one pod's loss takes it down")
            labels = (workload.spec.template.metadata.labels or {}) if workload.spec.template.metadata else {}
            pods = _serving_pods(kube.core.list_namespaced_pod(namespace, label_selector=selector_of(workload)).items)
            pod_zones = {zones.get(p.spec.node_name) for p in pods}
            if replicas >= 2 and len(pod_zones) == 1:
                audit.find("one-zone", subject, f"all {len(pods)} serving pods run in "
                           f"{pod_zones.pop() or 'one unlabelled zone'}")
            if not any(_selects(budget, labels) for budget in budgets):
                audit.find("disruption-budget", subject, "no PodDisruptionBudget selects its pods: a drain may evict "
                           "them all at once")
            if not _spread(workload.spec.template.spec):
                audit.find("spread", subject, "no topologySpreadConstraints and no podAntiAffinity: its replicas may "
                           "all be scheduled into one node or zone")


def _serving_pods(pods: list[Any]) -> list[Any]:
    """The pods that carry the workload now: bound to a node, not being deleted, not finished. A pod terminating
    in the zone the workload left (a rollout, an eviction) would otherwise hide that every serving pod is in one."""
    return [p for p in pods if p.spec and p.spec.node_name and p.metadata.deletion_timestamp is None
            and (p.status is None or p.status.phase not in ("Succeeded", "Failed"))]


def _selects(budget: Any, labels: dict[str, str]) -> bool:
    selector = budget.spec.selector if budget.spec else None
    if selector is None:
        return False
    wanted = selector.match_labels or {}
    if selector.match_expressions:
        return False  # not interpreted here: counted as not selecting (a finding to look at, never a silent pass)
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def _spread(pod_spec: Any) -> bool:
    if pod_spec is None:
        return False
    anti = pod_spec.affinity.pod_anti_affinity if pod_spec.affinity else None
    return bool(pod_spec.topology_spread_constraints) or bool(
        anti and (anti.required_during_scheduling_ignored_during_execution
                  or anti.preferred_during_scheduling_ignored_during_execution))


# -- AWS ---------------------------------------------------------------------------------------------------------
def eks_cluster_name(cluster: Cluster) -> str:
    """The EKS cluster's name: from an EKS context ARN (``arn:aws:eks:...:cluster/NAME``), else the target's name."""
    return cluster.context.rsplit("cluster/", 1)[1] if ":eks:" in cluster.context and "cluster/" in cluster.context \
        else cluster.name


def _subnet_zones(clients: AwsClients, region: str, subnet_ids: list[str]) -> set[str]:
    if not subnet_ids:
        return set()
    ec2 = clients.client("ec2", region)
    return {s["AvailabilityZone"] for s in paged(ec2, "describe_subnets", "Subnets", SubnetIds=subnet_ids)}


def _node_groups(audit: Audit, target: AwsTarget, clients: AwsClients) -> None:
    managed = [c for c in target.clusters if c.managed]
    if not managed:
        audit.skip("no managed (EKS) cluster in kubernetes.clusters", "node-group-zones")
        return
    audit.ran("node-group-zones")
    for cluster in managed:
        eks, name = clients.client("eks", cluster.region), eks_cluster_name(cluster)
        for group in eks.list_nodegroups(clusterName=name).get("nodegroups", []):
            subnets = eks.describe_nodegroup(clusterName=name, nodegroupName=group)["nodegroup"].get("subnets", [])
            zones = _subnet_zones(clients, cluster.region, subnets)
            if len(zones) < 2:
                audit.find("node-group-zones", f"node group {name}/{group}",
                           f"its subnets are in {len(zones)} AZ(s) {sorted(zones)}: the AZ's loss takes every node")


def _load_balancers(audit: Audit, target: AwsTarget, clients: AwsClients) -> None:
    audit.ran("lb-zones")
    for region in target.availability_zones:
        elbv2 = clients.client("elbv2", region)
        balancers = list(paged(elbv2, "describe_load_balancers", "LoadBalancers"))
        for balancer in tagged_balancers(elbv2, balancers, target.selection_tags):
            zones = sorted({z["ZoneName"] for z in balancer.get("AvailabilityZones", [])})
            if len(zones) < 2:
                audit.find("lb-zones", f"load balancer {balancer['LoadBalancerName']} ({region})",
                           f"in {len(zones)} AZ(s) {zones}: the AZ's loss takes the load balancer")


def _dns(audit: Audit, target: AwsTarget, clients: AwsClients) -> None:
    dns = target.inventory.dns
    if dns is None:
        audit.skip("no inventory.dns", "dns-health-check", "dns-failover", "dns-secondary")
        return
    audit.ran("dns-health-check", "dns-failover", "dns-secondary")
    for name in dns.records:
        sets = record_sets(target, clients, name)
        if not sets:
            audit.find("dns-failover", f"record {name}", f"no A/AAAA/CNAME record set in hosted zone {dns.zone_id}")
            continue
        for record in sets:
            which = record.get("SetIdentifier") or record["Type"]
            health_checked = record.get("HealthCheckId") or (record.get("AliasTarget") or {}).get("EvaluateTargetHealth")
            if not health_checked and record.get("Failover") != "SECONDARY":
                audit.find("dns-health-check", f"record {name} ({which})",
                           "no health check: Route 53 keeps answering it when its endpoint is down")
        roles = {record.get("Failover") for record in sets}
        if len(sets) < 2:
            audit.find("dns-failover", f"record {name}", "one record set and no failover partner")
        elif "PRIMARY" in roles and "SECONDARY" not in roles:
            audit.find("dns-failover", f"record {name}", "a failover PRIMARY without a SECONDARY")
    if dns.secondary is None:
        audit.find("dns-secondary", "dns providers", "no secondary DNS provider is declared "
                   "(inventory.dns.secondary_provider): Route 53 is the only one")
        return
    for server in dns.secondary.nameservers:
        for name in dns.records:
            problem = _unanswered(server, dns.secondary.port, name)
            if problem:
                audit.find("dns-secondary", f"{dns.secondary.name} nameserver {server}", f"{name}: {problem}")


def _unanswered(server: str, port: int, name: str) -> str | None:
    """Why ``server`` does not answer an A query for ``name`` (None when it answers with records)."""
    import dns.exception
    import dns.message
    import dns.query
    import dns.rcode

    query = dns.message.make_query(name, "A")
    try:
        answer = dns.query.udp(query, server, port=port, timeout=DNS_TIMEOUT_S)
    except (dns.exception.DNSException, OSError) as exc:
        return f"no answer within {DNS_TIMEOUT_S:g}s ({type(exc).__name__}: {exc})"
    if answer.rcode() != dns.rcode.NOERROR:
        return f"answered {dns.rcode.to_text(answer.rcode())}"
    if not answer.answer:
        return "answered with no record"
    return None


def _databases(audit: Audit, target: AwsTarget, clients: AwsClients) -> None:
    if not target.inventory.databases:
        audit.skip("no inventory.databases", "db-zones", "db-region")
        return
    audit.ran("db-zones", "db-region")
    rds = clients.client("rds", target.primary_region)
    groups = [[m["DBClusterArn"] for m in g.get("GlobalClusterMembers", [])]
              for g in rds.describe_global_clusters().get("GlobalClusters", [])]
    for cluster_id in target.inventory.databases:
        [cluster] = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"]
        zones = set()
        for member in cluster.get("DBClusterMembers", []):
            [instance] = rds.describe_db_instances(DBInstanceIdentifier=member["DBInstanceIdentifier"])["DBInstances"]
            zones.add(instance.get("AvailabilityZone"))
        if len(zones - {None}) < 2:
            audit.find("db-zones", f"database {cluster_id}",
                       f"its instances are in {len(zones - {None})} AZ(s) {sorted(zones - {None})}: no replica in "
                       "another AZ")
        if target.dr_region is None:
            continue
        arn = cluster["DBClusterArn"]
        partners = [other for group in groups if arn in group for other in group if other != arn]
        if not any(other.split(":")[3] == target.dr_region for other in partners):
            audit.find("db-region", f"database {cluster_id}",
                       f"no member of a global database in the DR region {target.dr_region}"
                       + ("" if partners else " (it is in no global database)"))


def _security(audit: Audit, target: AwsTarget, clients: AwsClients) -> None:
    inventory, dr = target.inventory, target.dr_region
    if not (inventory.kms_keys or inventory.secrets):
        audit.skip("no inventory.security", "kms-replica", "secret-replica")
        return
    audit.ran("kms-replica", "secret-replica")
    primary = target.primary_region
    for key_id in inventory.kms_keys:
        regions = _described(audit, "kms-replica", f"KMS key {key_id}", primary, lambda: key_regions(clients, primary, key_id))
        if regions is not None and dr not in regions:
            audit.find("kms-replica", f"KMS key {key_id}",
                       f"no multi-Region replica in {dr}: the standby region cannot decrypt what it encrypted")
    for secret_id in inventory.secrets:
        status = _described(audit, "secret-replica", f"secret {secret_id}", primary,
                            lambda: secret_regions(clients, primary, secret_id))
        if status is None:
            continue
        if dr not in status:
            audit.find("secret-replica", f"secret {secret_id}", f"no replica in {dr}")
        elif status[dr] != "InSync":
            audit.find("secret-replica", f"secret {secret_id}", f"its replica in {dr} is {status[dr]}, not InSync")


def _described(audit: Audit, check: str, subject: str, region: str, read: Callable[[], Any]) -> Any:
    """``read()``, or None after recording a finding when the primary region cannot describe ``subject``."""
    try:
        return read()
    except CloudApiError as exc:
        audit.find(check, subject, f"cannot be described in {region}: {exc}")
        return None
