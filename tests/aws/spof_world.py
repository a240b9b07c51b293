"""A well-built AWS + EKS world for the SPOF sweep and the static audit (moto + the tests' real Kubernetes API
server, ``tests/k8s/fixtures.py``), and the flaws that each re-create one SPOF risk.

``build_aws(flaws)`` creates, in moto: the tagged staging VPC, an ALB in two AZs, a Route 53 zone whose
``app.example.com`` fails over from a health-checked PRIMARY to a SECONDARY, an Aurora cluster with instances in
two AZs and a global-database member in the DR region, a multi-Region KMS key replicated to DR, a secret replicated
there, an EKS cluster whose node group spans two AZs. ``build_cluster(cluster, flaws)`` creates, in Kubernetes: a
chaos-allowed node in each of two zones, the Deployment ``app/web`` (2 replicas; its controller makes the pods and
the real scheduler places them, one per zone by a hard topology spread constraint) and a PodDisruptionBudget
selecting it. Each name in ``FLAWS`` leaves exactly one of these out.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from tests.aws.moto_world import REGION, TAGS, make_security_replicas, make_staging_vpc, target_document
from tests.k8s.cluster import TestCluster
from tests.k8s.control_plane import CONTEXT
from tests.k8s.world import NODE_CAPACITY, node, workload
from zerospof.k8s.zone_drain import ZONE_LABEL

DR = "us-east-1"
RECORD = "app.example.com"
LABELS = {"app": "web"}
FLAWS = {  # flaw -> the audit check that must find it
    "one-replica": "replicas", "one-zone": "one-zone", "no-pdb": "disruption-budget", "no-spread": "spread",
    "node-group-one-az": "node-group-zones", "lb-one-az": "lb-zones", "no-health-check": "dns-health-check",
    "no-failover-partner": "dns-failover", "no-secondary-dns": "dns-secondary", "secondary-dns-silent": "dns-secondary",
    "db-one-az": "db-zones", "db-no-dr": "db-region", "kms-no-replica": "kms-replica",
    "secret-no-replica": "secret-replica",
}


@contextmanager
def second_dns_provider(answers: bool = True) -> Iterator[tuple[str, int]]:
    """A DNS server on 127.0.0.1 standing in for the second provider: it answers every A query with 192.0.2.10
    (or, ``answers=False``, never answers). Yields its (address, port)."""
    import dns.message
    import dns.rrset

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            if not answers:
                continue
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            response.answer.append(dns.rrset.from_text(query.question[0].name, 30, "IN", "A", "192.0.2.10"))
            sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=serve, name="second-dns", daemon=True)
    thread.start()
    try:
        yield sock.getsockname()
    finally:
        stop.set()
        thread.join(2)
        sock.close()


def build_cluster(cluster: TestCluster, flaws: set[str]) -> None:
    """Nodes in two zones, ``app/web`` (ready, its pods placed), spread and budget (minus ``flaws``).

    Placement is decided, not left to the scheduler's scoring: with the spread constraint, one pod per zone;
    ``one-zone`` pins the template to the first zone (nodeSelector); ``no-spread``, having no constraint, makes
    each pod ask for more than half a node's CPU, so the two pods land on the two nodes, one per zone: the audit
    must find the missing constraint in the template, not in where the pods happen to run."""
    zones = [f"{REGION}a", f"{REGION}b"]
    for zone in zones:
        cluster.add(node(f"node-{zone[-1]}", zone))
    web = workload("Deployment", "app", "web", 1 if "one-replica" in flaws else 2, LABELS)
    template = web["spec"]["template"]["spec"]
    if "one-zone" in flaws:
        template["nodeSelector"] = {ZONE_LABEL: zones[0]}
    if "no-spread" in flaws:
        over_half = int(NODE_CAPACITY["cpu"]) // 2 + 1  # one such pod per node
        template["containers"][0]["resources"] = {"requests": {"cpu": str(over_half)}}
    else:
        template["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": ZONE_LABEL, "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": dict(LABELS)}}]
    if "no-pdb" not in flaws:
        cluster.add({"kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "app"},
                     "spec": {"minAvailable": 1, "selector": {"matchLabels": dict(LABELS)}}})
    cluster.add(web)  # returns when its controller's pods are all ready


def web_pods(cluster: TestCluster) -> dict[str, str]:
    """``app/web``'s pods (named by its ReplicaSet): pod name -> the zone of the node the scheduler bound it to."""
    zones = {n["metadata"]["name"]: n["metadata"]["labels"][ZONE_LABEL] for n in cluster.objects("nodes")}
    alive = [p for p in cluster.objects("pods", "app") if not p["metadata"].get("deletionTimestamp")]
    return {p["metadata"]["name"]: zones[p["spec"]["nodeName"]] for p in alive
            if LABELS.items() <= (p["metadata"].get("labels") or {}).items()}


def build_aws(flaws: set[str]) -> dict[str, Any]:
    """The moto half (in-process moto must be active); returns the ids the target document names."""
    ec2 = boto3.client("ec2", region_name=REGION)
    staging = make_staging_vpc(ec2)
    subnets = {zone: ids[0] for zone, ids in staging["tagged"].items()}
    zones = sorted(subnets)
    lb_subnets = [subnets[zones[0]]] if "lb-one-az" in flaws else [subnets[zones[0]], subnets[zones[1]]]
    elbv2 = boto3.client("elbv2", region_name=REGION)
    if "lb-one-az" in flaws:  # ELBv2 itself wants two subnets: the second in the same AZ
        lb_subnets.append(staging["tagged"][zones[0]][1])
    elbv2.create_load_balancer(Name="app", Subnets=lb_subnets, Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()])
    eks = boto3.client("eks", region_name=REGION)
    role = "arn:aws:iam::123456789012:role/eks"
    eks.create_cluster(name="primary", roleArn=role, resourcesVpcConfig={"subnetIds": list(subnets.values())})
    group_subnets = [subnets[zones[0]]] if "node-group-one-az" in flaws else [subnets[zones[0]], subnets[zones[1]]]
    eks.create_nodegroup(clusterName="primary", nodegroupName="workers", nodeRole=role, subnets=group_subnets)
    zone_id = _route53(flaws)
    _aurora(flaws)
    key_id, secret = make_security_replicas(boto3.client("kms", region_name=REGION),
                                            boto3.client("secretsmanager", region_name=REGION), DR,
                                            replicate_key="kms-no-replica" not in flaws,
                                            replicate_secret="secret-no-replica" not in flaws)
    return {"zone_id": zone_id, "key_id": key_id, "secret": secret, "staging": staging}


def _route53(flaws: set[str]) -> str:
    route53 = boto3.client("route53", region_name="us-east-1")
    zone_id = route53.create_hosted_zone(Name="example.com", CallerReference="zerospof")["HostedZone"]["Id"]
    zone_id = zone_id.rsplit("/", 1)[-1]
    check = route53.create_health_check(CallerReference="primary", HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": "primary.example.com", "Port": 443,
        "ResourcePath": "/healthz"})["HealthCheck"]["Id"]
    route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check,
                                     AddTags=[{"Key": k, "Value": v} for k, v in TAGS.items()])
    primary: dict[str, Any] = {"Name": RECORD, "Type": "A", "SetIdentifier": "primary", "Failover": "PRIMARY", "TTL": 60,
                               "ResourceRecords": [{"Value": "192.0.2.1"}]}
    if "no-health-check" not in flaws:
        primary["HealthCheckId"] = check
    changes = [{"Action": "CREATE", "ResourceRecordSet": primary}]
    if "no-failover-partner" not in flaws:
        changes.append({"Action": "CREATE", "ResourceRecordSet": {
            "Name": RECORD, "Type": "A", "SetIdentifier": "secondary", "Failover": "SECONDARY", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.2"}]}})
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return zone_id


def _aurora(flaws: set[str]) -> None:
    rds = boto3.client("rds", region_name=REGION)
    credentials = {"MasterUsername": "admin", "MasterUserPassword": "password123"}
    if "db-no-dr" in flaws:
        rds.create_db_cluster(DBClusterIdentifier="orders", Engine="aurora-postgresql", **credentials)
    else:
        rds.create_global_cluster(GlobalClusterIdentifier="orders-global", Engine="aurora-postgresql")
        rds.create_db_cluster(DBClusterIdentifier="orders", Engine="aurora-postgresql",
                              GlobalClusterIdentifier="orders-global", **credentials)
        boto3.client("rds", region_name=DR).create_db_cluster(
            DBClusterIdentifier="orders-dr", Engine="aurora-postgresql", GlobalClusterIdentifier="orders-global")
    zones = [f"{REGION}a", f"{REGION}a" if "db-one-az" in flaws else f"{REGION}b"]
    for index, zone in enumerate(zones):
        rds.create_db_instance(DBInstanceIdentifier=f"orders-{index}", DBClusterIdentifier="orders",
                               Engine="aurora-postgresql", DBInstanceClass="db.r6g.large", AvailabilityZone=zone)


def world_document(kubeconfig: str, ids: dict[str, Any], secondary: tuple[str, int] | None,
                   **overrides: Any) -> dict[str, Any]:
    """The target document of the world: its cluster (the real API server's context), inventory and, when given, the second
    DNS provider at ``secondary``."""
    dns: dict[str, Any] = {"zone_id": ids["zone_id"], "records": [RECORD]}
    if secondary is not None:
        dns["secondary_provider"] = {"name": "cloudflare", "nameservers": [secondary[0]], "port": secondary[1]}
    return target_document(
        kubernetes={"allowed_contexts": [CONTEXT], "clusters": [
            {"name": "primary", "context": CONTEXT, "region": REGION, "kubeconfig": kubeconfig}]},
        inventory={"cluster": "primary", "namespaces": ["app"], "deployments": [{"namespace": "app", "name": "web"}],
                   "databases": ["orders"], "dns": dns,
                   "security": {"kms_keys": [ids["key_id"]], "secrets": [ids["secret"]]}},
        **overrides)
