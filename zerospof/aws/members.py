"""The AWS target's redundant members for the SPOF sweep, by checklist layer, each with the fault that fails it alone.

Read from the target file's inventory and what the APIs list now (read-only):

=========  ==============================================  ==============================================
layer      member                                          fault (through the ledger; reverted)
=========  ==============================================  ==============================================
network    ``lb:<load balancer>:<az>`` (each tagged load   NACL blackhole of that load balancer's subnet
           balancer's node in each AZ)                     in that AZ (it must carry the selection tags)
compute    ``az:<zone>`` (each AZ of the primary region)   NACL blackhole of the zone's tagged subnets
compute    ``nodes:<cluster>:<zone>`` (the selected nodes   cordon + drain those nodes
           of each cluster, per zone)
compute    ``pod:<namespace>/<pod>`` (each pod of each      delete that pod (its controller replaces it)
           ``inventory.deployments`` entry)
control    self-managed: ``pod:kube-system/<pod>`` per      delete that pod (the kubelet restarts it)
           control-plane selector; EKS: the control plane   not exercised (AWS runs it)
data       ``db:<cluster>/<instance>`` (Aurora members of   not exercised (see ``NO_DB_FAULT``)
           ``inventory.databases``)
dns        ``dns:<record>:<set>`` (each Route 53 record     invert its health check (revert: back), when
           set of ``inventory.dns.records``)                it has one carrying the selection tags
dns        ``dns-provider:<name>`` (Route 53, the second    not exercised (see ``NO_PROVIDER_FAULT``)
           provider)
cicd       ``git:<repository>`` (the GitOps canary's host)  not exercised (outside the account)
gitops     ``gitops:<controller>``                          scale its workload to 0 (revert: back)
security   ``kms:<key>@<region>`` (the primary key and      disable that key in that region, when it
           each replica)                                    carries the selection tags (revert: enable)
security   ``secret:<name>@<region>`` (the primary and      not exercised (see ``NO_SECRET_FAULT``)
           each replica)
=========  ==============================================  ==============================================

A member with no safe single-member fault is listed with ``not_exercised`` (never dropped, never a pass).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zerospof.aws.clients import AwsClients, paged
from zerospof.aws.health_check_invert import ROUTE53_REGION, HealthCheckInvert, health_check_tags
from zerospof.aws.kms_disable import KmsKeyDisable
from zerospof.aws.scenarios import aws_params, blackhole, kube_params
from zerospof.aws.target import AwsTarget, Cluster
from zerospof.faults import Fault
from zerospof.k8s.clients import KubeClients
from zerospof.k8s.pod_kill import PodKill
from zerospof.k8s.scale import ScaleWorkload
from zerospof.k8s.zone_drain import ZONE_LABEL, ZoneDrain
from zerospof.spof import Member

__all__ = ["LAYER_ORDER", "PlannedMember", "aws_members", "key_regions", "node_zones", "record_sets", "secret_regions",
           "selector_of", "tag_filters", "tagged_balancers"]

LAYER_ORDER = ("network", "compute", "control", "data", "dns", "cicd", "gitops", "security")
NO_DB_FAULT = ("zerospof has no revertible single-instance database fault yet (a reboot with failover moves the "
               "writer for good; stopping an Aurora instance is refused by RDS)")
NO_DNS_FAULT = ("the record set has no health check: nothing fails this answer alone (Route 53 keeps answering it; "
                "the audit reports it)")
NO_PROVIDER_FAULT = "a DNS provider cannot be failed from the target account"
NO_SECRET_FAULT = ("Secrets Manager has no per-replica switch: denying one replica's reads is not built "
                   "(the audit checks the replica is in sync)")
KubeFor = Callable[[Cluster], KubeClients]


@dataclass(frozen=True)
class PlannedMember:
    """A member and the fault that fails it alone (None when ``member.not_exercised`` says why not)."""

    member: Member
    fault: Fault | None

    def describe(self) -> dict[str, Any]:
        """What the sweep would do to this member (``--dry-run``)."""
        return {"member": self.member.name, "layer": self.member.layer, "kind": self.member.kind,
                "place": self.member.place, "fault": self.fault.describe() if self.fault else None,
                "not_exercised": self.member.not_exercised}


def tag_filters(tags: dict[str, str]) -> list[dict[str, Any]]:
    """EC2 filters selecting resources that carry every one of ``tags``."""
    return [{"Name": f"tag:{key}", "Values": [value]} for key, value in sorted(tags.items())]


def aws_members(target: AwsTarget, clients: AwsClients, kube_for: KubeFor,
                runner_subnet_ids: list[str]) -> list[PlannedMember]:
    """Every member of ``target`` the inventory and the APIs name, in the seed's layer order (read-only)."""
    found = [*_zones(target, clients, runner_subnet_ids), *_load_balancers(target, clients, runner_subnet_ids)]
    for cluster in target.clusters:
        found += _node_zones(target, cluster, kube_for(cluster))
    if target.inventory.cluster is not None:
        cluster = target.cluster(target.inventory.cluster)
        found += _deployment_pods(target, cluster, kube_for(cluster))
    found += [*_control_plane(target, kube_for), *_databases(target, clients), *_dns(target, clients),
              *_git(target), *_gitops(target), *_security(target, clients)]
    return sorted(found, key=lambda p: (LAYER_ORDER.index(p.member.layer), p.member.name))


def _not_exercised(name: str, layer: str, kind: str, place: str | None, reason: str) -> PlannedMember:
    return PlannedMember(Member(name, layer, kind, place, reason), None)


def _tagged_subnets(target: AwsTarget, clients: AwsClients) -> dict[str, dict[str, Any]]:
    ec2 = clients.client("ec2", target.primary_region)
    return {s["SubnetId"]: s for s in paged(ec2, "describe_subnets", "Subnets", Filters=tag_filters(target.selection_tags))}


def _zones(target: AwsTarget, clients: AwsClients, runner: list[str]) -> list[PlannedMember]:
    tagged = {s["AvailabilityZone"] for s in _tagged_subnets(target, clients).values()}
    found = []
    for zone in target.availability_zones[target.primary_region]:
        if zone in tagged:
            found.append(PlannedMember(Member(f"az:{zone}", "compute", "availability-zone", zone),
                                       blackhole(target, [zone], runner)))
        else:
            found.append(_not_exercised(f"az:{zone}", "compute", "availability-zone", zone,
                                        f"no subnet in {zone} carries the selection tags {target.selection_tags}"))
    return found


def _load_balancers(target: AwsTarget, clients: AwsClients, runner: list[str]) -> list[PlannedMember]:
    """Each tagged load balancer's node per AZ (the primary region's ELBv2 load balancers carrying every selection tag)."""
    elbv2 = clients.client("elbv2", target.primary_region)
    balancers = list(paged(elbv2, "describe_load_balancers", "LoadBalancers"))
    tagged_subnets = _tagged_subnets(target, clients)
    found = []
    for balancer in tagged_balancers(elbv2, balancers, target.selection_tags):
        by_zone = {zone["ZoneName"]: zone for zone in reversed(balancer.get("AvailabilityZones", []))}  # one node per AZ
        for zone in sorted(by_zone.values(), key=lambda z: z["ZoneName"]):
            name = f"lb:{balancer['LoadBalancerName']}:{zone['ZoneName']}"
            subnet = zone.get("SubnetId")
            if subnet in tagged_subnets:
                found.append(PlannedMember(Member(name, "network", "load-balancer-node", zone["ZoneName"]),
                                           blackhole(target, [zone["ZoneName"]], runner, [subnet])))
            else:
                found.append(_not_exercised(name, "network", "load-balancer-node", zone["ZoneName"],
                                            f"its subnet {subnet} does not carry the selection tags"))
    return found


def tagged_balancers(elbv2: Any, balancers: list[dict[str, Any]], tags: dict[str, str]) -> list[dict[str, Any]]:
    """The load balancers carrying every one of ``tags`` (DescribeTags takes at most 20 ARNs a call)."""
    by_arn = {b["LoadBalancerArn"]: b for b in balancers}
    arns = list(by_arn)
    chosen = []
    for start in range(0, len(arns), 20):
        for description in elbv2.describe_tags(ResourceArns=arns[start:start + 20]).get("TagDescriptions", []):
            carried = {t["Key"]: t["Value"] for t in description.get("Tags", [])}
            if all(carried.get(key) == value for key, value in tags.items()):
                chosen.append(by_arn[description["ResourceArn"]])
    return sorted(chosen, key=lambda b: b["LoadBalancerName"])


def _node_zones(target: AwsTarget, cluster: Cluster, kube: KubeClients) -> list[PlannedMember]:
    nodes = kube.core.list_node(label_selector=cluster.node_label_selector).items
    zones = sorted({(n.metadata.labels or {}).get(ZONE_LABEL) for n in nodes} - {None})
    return [PlannedMember(Member(f"nodes:{cluster.name}:{zone}", "compute", "node-zone", zone),
                          ZoneDrain({"kube": kube_params(target, cluster), "zone": zone,
                                     "node_label_selector": cluster.node_label_selector}))
            for zone in zones]


def selector_of(deployment: Any) -> str:
    """A Deployment's pod selector (its ``matchLabels``) as a label selector string."""
    labels = (deployment.spec.selector.match_labels or {}) if deployment.spec and deployment.spec.selector else {}
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def node_zones(kube: KubeClients) -> dict[str, str | None]:
    """Node name -> its ``topology.kubernetes.io/zone``."""
    return {n.metadata.name: (n.metadata.labels or {}).get(ZONE_LABEL) for n in kube.core.list_node().items}


def _deployment_pods(target: AwsTarget, cluster: Cluster, kube: KubeClients) -> list[PlannedMember]:
    zones = node_zones(kube)
    found = []
    for namespace, name in target.inventory.deployments:
        selector = selector_of(kube.apps.read_namespaced_deployment(name, namespace))
        for pod in sorted(kube.core.list_namespaced_pod(namespace, label_selector=selector).items,
                          key=lambda p: p.metadata.name):
            place = zones.get(pod.spec.node_name) if pod.spec else None
            found.append(PlannedMember(
                Member(f"pod:{namespace}/{pod.metadata.name}", "compute", "pod", place),
                PodKill({"kube": kube_params(target, cluster), "namespace": namespace, "label_selector": selector,
                         "names": [pod.metadata.name]})))
    return found


def _control_plane(target: AwsTarget, kube_for: KubeFor) -> list[PlannedMember]:
    plan = target.control_plane
    if plan is None:
        return []
    cluster = target.cluster(plan.cluster)
    if cluster.managed:
        return [_not_exercised(f"eks-control-plane:{cluster.name}", "control", "eks-control-plane", cluster.region,
                               "EKS runs the control plane: its members cannot be failed one by one (the control-plane "
                               "scenario cuts the nodes' path to the whole API)")]
    kube = kube_for(cluster)
    found = []
    for selector in plan.self_managed_pod_selectors:
        for pod in sorted(kube.core.list_namespaced_pod(plan.self_managed_namespace, label_selector=selector).items,
                          key=lambda p: p.metadata.name):
            found.append(PlannedMember(
                Member(f"pod:{plan.self_managed_namespace}/{pod.metadata.name}", "control", "control-plane-pod",
                       pod.spec.node_name if pod.spec else None),
                PodKill({"kube": kube_params(target, cluster), "namespace": plan.self_managed_namespace,
                         "label_selector": selector, "names": [pod.metadata.name]})))
    return found


def _databases(target: AwsTarget, clients: AwsClients) -> list[PlannedMember]:
    rds = clients.client("rds", target.primary_region)
    found = []
    for cluster_id in target.inventory.databases:
        [cluster] = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"]
        for member in cluster.get("DBClusterMembers", []):
            instance = member["DBInstanceIdentifier"]
            [described] = rds.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"]
            role = "writer" if member.get("IsClusterWriter") else "reader"
            found.append(_not_exercised(f"db:{cluster_id}/{instance}", "data", f"database-{role}",
                                        described.get("AvailabilityZone"), NO_DB_FAULT))
    return found


def record_sets(target: AwsTarget, clients: AwsClients, name: str) -> list[dict[str, Any]]:
    """The Route 53 record sets called ``name`` in the inventory's hosted zone (A, AAAA or CNAME)."""
    assert target.inventory.dns is not None
    route53 = clients.client("route53", ROUTE53_REGION)
    sets = route53.list_resource_record_sets(HostedZoneId=target.inventory.dns.zone_id, StartRecordName=name,
                                             MaxItems="100")["ResourceRecordSets"]
    return [s for s in sets if s["Name"].rstrip(".") == name and s["Type"] in ("A", "AAAA", "CNAME")]


def _dns(target: AwsTarget, clients: AwsClients) -> list[PlannedMember]:
    dns = target.inventory.dns
    if dns is None:
        return []
    found = [_not_exercised("dns-provider:route53", "dns", "dns-provider", None, NO_PROVIDER_FAULT)]
    if dns.secondary is not None:
        found.append(_not_exercised(f"dns-provider:{dns.secondary.name}", "dns", "dns-provider", None,
                                    NO_PROVIDER_FAULT))
    route53 = clients.client("route53", ROUTE53_REGION)
    for name in dns.records:
        for record in record_sets(target, clients, name):
            member = f"dns:{name}:{record.get('SetIdentifier') or record['Type']}"
            check = record.get("HealthCheckId")
            reason = NO_DNS_FAULT if check is None else None
            if check is not None:
                tags = health_check_tags(route53, check)
                if any(tags.get(k) != v for k, v in target.selection_tags.items()):
                    reason = f"its health check {check} does not carry the selection tags"
            if reason is not None:
                found.append(_not_exercised(member, "dns", "dns-endpoint", record.get("Region"), reason))
                continue
            found.append(PlannedMember(Member(member, "dns", "dns-endpoint", record.get("Region")), HealthCheckInvert(
                {**aws_params(target, ROUTE53_REGION), "health_check_id": check,
                 "selection_tags": dict(target.selection_tags)})))
    return found


def _git(target: AwsTarget) -> list[PlannedMember]:
    canary = target.gitops_canary
    if canary is None:
        return []
    return [_not_exercised(f"git:{canary.repository}", "cicd", "git-host", None,
                           "the git host is outside the target account")]


def _gitops(target: AwsTarget) -> list[PlannedMember]:
    return [PlannedMember(Member(f"gitops:{c.name}", "gitops", f"gitops-{c.role}", c.cluster),
                          ScaleWorkload({"kube": kube_params(target, target.cluster(c.cluster)), "namespace": c.namespace,
                                         "workload_kind": c.workload_kind, "name": c.workload_name, "replicas": 0}))
            for c in target.gitops_controllers]


def key_regions(clients: AwsClients, region: str, key_id: str) -> list[str]:
    """The regions holding ``key_id``: its own and, for a multi-Region primary key, every replica's."""
    metadata = clients.client("kms", region).describe_key(KeyId=key_id)["KeyMetadata"]
    replicas = (metadata.get("MultiRegionConfiguration") or {}).get("ReplicaKeys", [])
    return [region, *sorted(r["Region"] for r in replicas)]


def secret_regions(clients: AwsClients, region: str, secret_id: str) -> dict[str, str | None]:
    """Region -> replication status of ``secret_id`` (None for the primary)."""
    described = clients.client("secretsmanager", region).describe_secret(SecretId=secret_id)
    return {region: None, **{r["Region"]: r.get("Status") for r in described.get("ReplicationStatus", [])}}


def _security(target: AwsTarget, clients: AwsClients) -> list[PlannedMember]:
    from zerospof.aws.probes import region_key_id

    primary = target.primary_region
    found = []
    for key_id in target.inventory.kms_keys:
        for region in key_regions(clients, primary, key_id):
            name, replica = f"kms:{key_id}@{region}", region_key_id(key_id, region)
            tags = {t["TagKey"]: t["TagValue"]
                    for t in clients.client("kms", region).list_resource_tags(KeyId=replica).get("Tags", [])}
            if any(tags.get(k) != v for k, v in target.selection_tags.items()):
                found.append(_not_exercised(name, "security", "kms-key", region,
                                            f"the key in {region} does not carry the selection tags"))
                continue
            found.append(PlannedMember(Member(name, "security", "kms-key", region), KmsKeyDisable(
                {**aws_params(target, region), "key_id": replica, "selection_tags": dict(target.selection_tags)})))
    for secret_id in target.inventory.secrets:
        for region in secret_regions(clients, primary, secret_id):
            found.append(_not_exercised(f"secret:{secret_id}@{region}", "security", "secret", region, NO_SECRET_FAULT))
    return found
