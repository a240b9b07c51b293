"""The AWS + EKS target file: load it, validate every key, return typed, frozen records.

``load_aws_target(path)`` fails with :class:`~zerospof.errors.ConfigError` naming the file,
the key path (``scenarios.az-failure.availability_zone``) and the bad value of every problem, before
any fault. The schema is :mod:`zerospof.aws.schema`; ``python -m zerospof.aws.target`` exports the
target file's JSON Schema (``schemas/target.schema.json``). ``targets/staging.example.yaml`` is the
documented example.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from zerospof.aws import schema as file_schema
from zerospof.errors import ConfigError
from zerospof.schema import load_yaml_mapping, validate_model

__all__ = [
    "ArgoApplication", "AwsTarget", "AzFailurePlan", "Cluster", "ControlPlanePlan", "DataCanary",
    "Detection", "DnsInventory", "Endpoint", "GitopsCanary", "GitopsController", "GitopsPlan", "Inventory",
    "RegionFailurePlan", "Safety", "SecondaryDns",
    "check_against_account", "load_aws_target", "parse_aws_target", "target_json_schema",
]

SCENARIOS = ("az-failure", "region-failure", "control-plane", "gitops")


@dataclass(frozen=True)
class Endpoint:
    """A user-facing URL probed on one user path (``path``: ``reads``, the default, or ``writes``).

    ``headers``: sent as written (nothing secret); ``headers_from_env``: header name -> the environment
    variable holding its value (credentials: read at run time, never stored in the file or a report).
    ``timeout_s`` / ``connect_timeout_s``: per read / per connection attempt; ``redirects``:
    ``accept`` (a 3xx is an answer), ``follow`` or ``fail``; ``ca_file``: extra trust for a private CA
    (TLS is always verified).
    """

    name: str
    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    path: str = "reads"  # the user path it exercises: reads, or writes (then method POST/PUT by default)
    headers_from_env: tuple[tuple[str, str], ...] = ()
    timeout_s: float = 2.0
    connect_timeout_s: float = 1.0
    redirects: str = "accept"
    ca_file: str | None = None


@dataclass(frozen=True)
class DataCanary:
    """Where the RPO canary writes: a PostgreSQL/Aurora DSN (read from an env var), optionally DynamoDB."""

    postgres_dsn_env: str
    postgres_table: str
    dynamodb_region: str | None = None
    dynamodb_table: str | None = None


@dataclass(frozen=True)
class Cluster:
    """One Kubernetes cluster, reached through a kube context.

    ``event_namespaces``: whose core/v1 events the report shows around t0; by default ``default`` (node
    events) and every namespace the target file names in this cluster (controllers, leases, applications).
    """

    name: str
    context: str
    region: str
    managed: bool
    kubeconfig: str | None
    node_label_selector: str
    event_namespaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class GitopsController:
    """A GitOps controller workload (Argo CD application controller, Flux controllers)."""

    name: str
    cluster: str
    engine: str  # argocd | flux
    role: str  # active | standby | backup
    namespace: str
    workload_kind: str  # deployment | statefulset
    workload_name: str
    pod_label_selector: str
    lease_namespace: str | None
    lease_name: str | None

    @property
    def leader_lease(self) -> dict[str, str] | None:
        """The Lease it elects its leader through (``{"namespace", "name"}``), or None when the target names none."""
        if self.lease_name is None:
            return None
        return {"namespace": self.lease_namespace or self.namespace, "name": self.lease_name}


@dataclass(frozen=True)
class ArgoApplication:
    """An Argo CD Application whose sync/health the probes read."""

    cluster: str
    namespace: str
    name: str


@dataclass(frozen=True)
class GitopsCanary:
    """The GitOps canary: one file on one branch of a git remote, whose content is the desired revision.

    The revision is served when ``endpoint_url`` answers it (JSON, under ``endpoint_field``) or, with
    no endpoint, when Argo CD's ``application`` has synced a commit whose ``file`` holds it.
    ``rpo_branch`` (optional, never ``branch``): where the GitOps RPO write canary pushes its numbered commits.
    """

    repository: str
    branch: str
    file: str
    application: ArgoApplication | None
    endpoint_url: str | None
    endpoint_field: str = "revision"
    rpo_branch: str | None = None


@dataclass(frozen=True)
class Detection:
    """The platform's own detection signals."""

    alb_target_groups: tuple[tuple[str, str], ...] = ()  # (region, arn)
    route53_health_check_ids: tuple[str, ...] = ()
    cloudwatch_alarms: tuple[tuple[str, str], ...] = ()  # (region, alarm name)
    leases: tuple[tuple[str, str, str], ...] = ()  # (cluster, namespace, name)


@dataclass(frozen=True)
class AzFailurePlan:
    availability_zone: str
    drain_nodes: bool
    drain_cluster: str | None
    fis_power_interruption_template_id: str | None


@dataclass(frozen=True)
class RegionFailurePlan:
    fis_template_id: str | None
    recovery: str  # manual | automatic
    aurora_cluster_id: str | None
    aurora_target_instance_id: str | None


@dataclass(frozen=True)
class ControlPlanePlan:
    cluster: str
    security_group_tags: dict[str, str]
    api_port: int
    self_managed_pod_selectors: tuple[str, ...]
    self_managed_namespace: str


@dataclass(frozen=True)
class GitopsPlan:
    controller: str
    method: str  # scale-to-zero | delete-pod | suspend (Flux Kustomizations)


@dataclass(frozen=True)
class Safety:
    runner_subnet_ids: tuple[str, ...]
    discover_runner_subnets: bool
    allow_runner_blackhole: bool
    availability_floor_percent: float
    availability_limit_s: float


@dataclass(frozen=True)
class SecondaryDns:
    """The second DNS provider (e.g. Cloudflare): its name and the nameservers (IP addresses) asked directly."""

    name: str
    nameservers: tuple[str, ...]
    port: int = 53


@dataclass(frozen=True)
class DnsInventory:
    """The Route 53 hosted zone and the user-facing record names in it; the second provider, if declared."""

    zone_id: str
    records: tuple[str, ...]
    secondary: SecondaryDns | None


@dataclass(frozen=True)
class Inventory:
    """What the SPOF sweep and the static audit look at (``inventory:``; every part optional).

    ``cluster``: where the declared workloads run. ``namespaces``: audited workloads. ``deployments``:
    ``(namespace, name)`` whose pods are members. ``databases``: Aurora DB cluster ids (primary region).
    ``kms_keys`` / ``secrets``: in the primary region; their replicas in the DR region are the security
    layer (key ids: a multi-Region key's ``mrk-...`` id is the same in every region).
    """

    cluster: str | None = None
    namespaces: tuple[str, ...] = ()
    deployments: tuple[tuple[str, str], ...] = ()
    databases: tuple[str, ...] = ()
    dns: DnsInventory | None = None
    kms_keys: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class AwsTarget:
    """A validated AWS + EKS target."""

    path: str
    name: str
    allowed_account_ids: tuple[str, ...]
    primary_region: str
    dr_region: str | None
    availability_zones: dict[str, tuple[str, ...]]
    selection_tags: dict[str, str]
    endpoint_url: str | None
    endpoints: tuple[Endpoint, ...]
    data_canary: DataCanary | None
    allowed_contexts: tuple[str, ...]
    clusters: tuple[Cluster, ...]
    gitops_controllers: tuple[GitopsController, ...]
    argo_applications: tuple[ArgoApplication, ...]
    gitops_canary: GitopsCanary | None
    detection: Detection
    az_failure: AzFailurePlan | None
    region_failure: RegionFailurePlan | None
    control_plane: ControlPlanePlan | None
    gitops: GitopsPlan | None
    safety: Safety
    inventory: Inventory = field(default_factory=Inventory)
    extra: dict[str, Any] = field(default_factory=dict)

    def cluster(self, name: str) -> Cluster:
        """Return the cluster called ``name``."""
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)

    def controller(self, name: str) -> GitopsController:
        """Return the GitOps controller called ``name``."""
        for controller in self.gitops_controllers:
            if controller.name == name:
                return controller
        raise KeyError(name)


def load_aws_target(path: str | Path) -> AwsTarget:
    """Read and validate the target file at ``path``; raise ConfigError (every problem at once) before anything runs."""
    path = str(path)
    document = load_yaml_mapping(path)
    return parse_aws_target(document, path)


def parse_aws_target(document: Any, path: str = "<target>") -> AwsTarget:
    """Validate an already-parsed target document against the schema and its cross-references."""
    references = file_schema.reference_errors(document, path)
    try:
        model = validate_model(file_schema.AwsTargetFile, document, path)
    except ConfigError as exc:
        errors = exc.errors + references
        raise ConfigError(exc.path, exc.key, exc.detail, exc.value, tuple(errors[1:])) from exc
    if references:
        first = references[0]
        raise ConfigError(first.path, first.key, first.detail, first.value, tuple(references[1:]))
    return _target(model, path)


def target_json_schema() -> dict[str, Any]:
    """JSON Schema of a target file (``kind: aws`` or ``kind: lab``), for editors (``schemas/target.schema.json``)."""
    union = TypeAdapter(Annotated[file_schema.AwsTargetFile | file_schema.LabTargetFile, Field(discriminator="kind")])
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "zerospof target file",
            **union.json_schema()}


def _target(model: file_schema.AwsTargetFile, path: str) -> AwsTarget:
    """The validated file as the frozen records the rest of zerospof reads."""
    aws = model.aws
    kubernetes = model.kubernetes or file_schema.Kubernetes()
    gitops = model.gitops or file_schema.Gitops()
    detection = model.detection or file_schema.Detection()
    scenarios = model.scenarios or file_schema.Scenarios()
    safety = model.safety or file_schema.Safety()
    canary = model.data_canary
    return AwsTarget(
        path=path, name=model.name, allowed_account_ids=tuple(aws.allowed_account_ids),
        primary_region=aws.regions.primary, dr_region=aws.regions.dr,
        availability_zones={region: tuple(zones) for region, zones in aws.availability_zones.items()},
        selection_tags=dict(aws.selection_tags), endpoint_url=aws.endpoint_url,
        endpoints=tuple(_endpoint(endpoint) for endpoint in model.endpoints or []),
        data_canary=None if canary is None else DataCanary(
            canary.postgres.dsn_env, canary.postgres.table, canary.dynamodb and canary.dynamodb.region,
            canary.dynamodb and canary.dynamodb.table),
        allowed_contexts=tuple(kubernetes.allowed_contexts),
        clusters=tuple(Cluster(c.name, c.context, c.region, c.managed, c.kubeconfig, c.node_label_selector,
                               _event_namespaces(model, c)) for c in kubernetes.clusters),
        gitops_controllers=tuple(GitopsController(
            name=c.name, cluster=c.cluster, engine=c.engine, role=c.role, namespace=c.namespace,
            workload_kind=c.workload.kind, workload_name=c.workload.name,
            pod_label_selector=c.pod_label_selector or f"app.kubernetes.io/name={c.workload.name}",
            lease_namespace=c.lease and c.lease.namespace, lease_name=c.lease and c.lease.name)
            for c in gitops.controllers),
        argo_applications=tuple(_application(a) for a in gitops.applications),
        gitops_canary=None if gitops.canary is None else GitopsCanary(
            repository=gitops.canary.repository, branch=gitops.canary.branch, file=gitops.canary.file,
            application=gitops.canary.served.argocd_application and _application(gitops.canary.served.argocd_application),
            endpoint_url=gitops.canary.served.endpoint and gitops.canary.served.endpoint.url,
            endpoint_field=gitops.canary.served.endpoint.field if gitops.canary.served.endpoint else "revision",
            rpo_branch=gitops.canary.rpo_branch),
        detection=Detection(tuple((g.region, g.arn) for g in detection.alb_target_groups),
                            tuple(detection.route53_health_checks),
                            tuple((a.region, a.name) for a in detection.cloudwatch_alarms),
                            tuple((lease.cluster, lease.namespace, lease.name) for lease in detection.leases)),
        az_failure=None if (az := scenarios.az_failure) is None else AzFailurePlan(
            az.availability_zone, az.drain_nodes, az.drain_cluster if az.drain_nodes else None,
            az.fis_power_interruption_template_id),
        region_failure=None if (region := scenarios.region_failure) is None else RegionFailurePlan(
            region.fis_template_id, region.recovery, region.aurora_failover.cluster_id,
            region.aurora_failover.target_instance_id),
        control_plane=None if (cp := scenarios.control_plane) is None else ControlPlanePlan(
            cp.cluster, dict(cp.security_group_tags), cp.api_port, tuple(cp.self_managed_pod_selectors),
            cp.self_managed_namespace),
        gitops=None if scenarios.gitops is None else GitopsPlan(scenarios.gitops.controller, scenarios.gitops.method),
        safety=Safety(tuple(safety.runner.subnet_ids), safety.runner.discover, safety.allow_runner_blackhole,
                      safety.abort.availability_floor, safety.abort.limit),
        inventory=_inventory(model.inventory),
    )


def _inventory(inventory: file_schema.Inventory | None) -> Inventory:
    if inventory is None:
        return Inventory()
    dns, security = inventory.dns, inventory.security or file_schema.InventorySecurity()
    return Inventory(
        cluster=inventory.cluster, namespaces=tuple(inventory.namespaces),
        deployments=tuple((d.namespace, d.name) for d in inventory.deployments), databases=tuple(inventory.databases),
        dns=None if dns is None else DnsInventory(
            dns.zone_id, tuple(name.rstrip(".") for name in dns.records),
            None if dns.secondary_provider is None else SecondaryDns(
                dns.secondary_provider.name, tuple(dns.secondary_provider.nameservers), dns.secondary_provider.port)),
        kms_keys=tuple(security.kms_keys), secrets=tuple(security.secrets))


def _event_namespaces(model: file_schema.AwsTargetFile, cluster: file_schema.Cluster) -> tuple[str, ...]:
    """The cluster's ``event_namespaces``, or ``default`` and every namespace the file names in that cluster."""
    if cluster.event_namespaces is not None:
        return tuple(cluster.event_namespaces)
    gitops, detection = model.gitops or file_schema.Gitops(), model.detection or file_schema.Detection()
    named = [(c.cluster, c.namespace) for c in gitops.controllers]
    named += [(c.cluster, c.lease.namespace) for c in gitops.controllers if c.lease is not None]
    named += [(a.cluster, a.namespace) for a in gitops.applications]
    named += [(lease.cluster, lease.namespace) for lease in detection.leases]
    control_plane = (model.scenarios or file_schema.Scenarios()).control_plane
    if control_plane is not None:
        named.append((control_plane.cluster, control_plane.self_managed_namespace))
    return tuple(dict.fromkeys(["default", *(ns for name, ns in named if name == cluster.name and ns)]))


def _endpoint(endpoint: file_schema.Endpoint) -> Endpoint:
    return Endpoint(
        endpoint.name, endpoint.url, path=endpoint.path,
        method=endpoint.method or ("GET" if endpoint.path == "reads" else "POST"),
        headers=tuple(sorted(endpoint.headers.items())), headers_from_env=tuple(sorted(endpoint.headers_from_env.items())),
        timeout_s=endpoint.timeout, connect_timeout_s=endpoint.connect_timeout, redirects=endpoint.redirects,
        ca_file=endpoint.ca_file)


def _application(application: file_schema.Application) -> ArgoApplication:
    return ArgoApplication(application.cluster, application.namespace, application.name)


def check_against_account(target: AwsTarget, clients: Any) -> str:
    """Check what only the account can tell, before any fault: the caller's account is allowed (SafetyRefusal
    otherwise) and every availability zone the target file names exists there (ConfigError naming the key).
    Read-only; returns the account id."""
    from zerospof.aws.run import preflight

    account = preflight(target, clients)  # NoAccess ("no access to AWS ...") without credentials; refuses others
    for region, zones in target.availability_zones.items():
        found = clients.client("ec2", region).describe_availability_zones().get("AvailabilityZones", [])
        existing = sorted(zone["ZoneName"] for zone in found)
        for index, zone in enumerate(zones):
            if zone not in existing:
                raise ConfigError(target.path, f"aws.availability_zones.{region}[{index}]",
                             f"no such availability zone in account {account}; {region} has {existing}", zone)
    return account


if __name__ == "__main__":  # python -m zerospof.aws.target > schemas/target.schema.json
    json.dump(target_json_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
