"""The AWS + EKS target file: load it, validate every key, return typed, frozen records.

``load_aws_target(path)`` fails with :class:`~zerospof.errors.ConfigError` naming the file,
the key path (``scenarios.az-failure.availability_zone``) and the bad value, before any fault.
``targets/staging.example.yaml`` is the documented example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zerospof.aws.schema import Reader
from zerospof.schema import load_yaml_mapping

__all__ = [
    "ArgoApplication", "AwsTarget", "AzFailurePlan", "Cluster", "ControlPlanePlan", "DataCanary",
    "Detection", "DnsInventory", "Endpoint", "GitopsCanary", "GitopsController", "GitopsPlan", "Inventory",
    "RegionFailurePlan", "Safety", "SecondaryDns",
    "check_against_account", "load_aws_target", "parse_aws_target",
]

REGION = r"[a-z]{2}(-gov)?-[a-z]+-\d"
ACCOUNT = r"\d{12}"
SCENARIOS = ("az-failure", "region-failure", "control-plane", "gitops")
GIT_REMOTE = r"(https?|ssh|git|file)://\S+|[\w.-]+@[\w.-]+:\S+"
BRANCH = r"(?!refs/)(?!.*\.\.)(?!.*//)[A-Za-z0-9][A-Za-z0-9._/-]*(?<![./])"


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
    """One Kubernetes cluster, reached through a kube context."""

    name: str
    context: str
    region: str
    managed: bool
    kubeconfig: str | None
    node_label_selector: str


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
    """Read and validate the target file at ``path``; raise ConfigError before anything runs."""
    path = str(path)
    document = load_yaml_mapping(path)
    return parse_aws_target(document, path)


def parse_aws_target(document: Any, path: str = "<target>") -> AwsTarget:
    """Validate an already-parsed target document."""
    r = Reader(path)
    top = r.mapping(document, "", required=["kind", "name", "aws"],
                    optional=["endpoints", "data_canary", "kubernetes", "gitops", "detection", "scenarios", "safety",
                              "inventory"])
    r.choice(top["kind"], "kind", ["aws"])
    name = r.string(top["name"], "name")

    aws = r.mapping(top["aws"], "aws", required=["allowed_account_ids", "regions", "availability_zones", "selection_tags"],
                    optional=["endpoint_url"])
    accounts = r.strings(aws["allowed_account_ids"], "aws.allowed_account_ids", ACCOUNT,
                         "a 12-digit account id in quotes", allow_empty=False)
    regions = r.mapping(aws["regions"], "aws.regions", required=["primary"], optional=["dr"])
    primary = r.string(regions["primary"], "aws.regions.primary", REGION, "an AWS region such as us-west-2")
    dr = r.optional_string(regions.get("dr"), "aws.regions.dr", REGION, "an AWS region such as us-east-1")
    if dr == primary:
        raise r.fail("aws.regions.dr", "must differ from the primary region", dr)
    zones_raw = r.mapping(aws["availability_zones"], "aws.availability_zones",
                          required=[primary], optional=[dr] if dr else [])
    zones = {region: r.strings(zones_raw[region], f"aws.availability_zones.{region}", rf"{region}[a-z]",
                               f"an availability zone of {region}", allow_empty=False)
             for region in zones_raw}
    tags = r.string_map(aws["selection_tags"], "aws.selection_tags")
    if not tags:
        raise r.fail("aws.selection_tags", "must name at least one tag: only tagged resources are touched", {})
    endpoint_url = r.optional_string(aws.get("endpoint_url"), "aws.endpoint_url", r"https?://\S+", "an http(s) URL")

    endpoints = tuple(_endpoint(r, key, item) for key, item in r.items(top.get("endpoints"), "endpoints"))
    canary = _data_canary(r, top.get("data_canary"), set(zones))

    kube = r.mapping(top.get("kubernetes"), "kubernetes", optional=["allowed_contexts", "clusters"])
    contexts = r.strings(kube.get("allowed_contexts"), "kubernetes.allowed_contexts")
    clusters = tuple(_cluster(r, key, item, set(zones), contexts) for key, item in r.items(kube.get("clusters"), "kubernetes.clusters"))
    cluster_names = _unique(r, "kubernetes.clusters", [c.name for c in clusters])

    gitops = r.mapping(top.get("gitops"), "gitops", optional=["controllers", "applications", "canary"])
    controllers = tuple(_controller(r, key, item, cluster_names) for key, item in r.items(gitops.get("controllers"), "gitops.controllers"))
    controller_names = _unique(r, "gitops.controllers", [c.name for c in controllers])
    apps = tuple(_application(r, key, item, cluster_names) for key, item in r.items(gitops.get("applications"), "gitops.applications"))
    gitops_canary = _gitops_canary(r, gitops.get("canary"), cluster_names)

    detection = _detection(r, top.get("detection"), set(zones), cluster_names)
    scenarios = r.mapping(top.get("scenarios"), "scenarios", optional=list(SCENARIOS))
    return AwsTarget(
        path=path, name=name, allowed_account_ids=accounts, primary_region=primary, dr_region=dr,
        availability_zones=zones, selection_tags=tags, endpoint_url=endpoint_url, endpoints=endpoints,
        data_canary=canary, allowed_contexts=contexts, clusters=clusters, gitops_controllers=controllers,
        argo_applications=apps, gitops_canary=gitops_canary, detection=detection,
        az_failure=_az_plan(r, scenarios.get("az-failure"), zones[primary], cluster_names),
        region_failure=_region_plan(r, scenarios.get("region-failure")),
        control_plane=_control_plane_plan(r, scenarios.get("control-plane"), cluster_names),
        gitops=_gitops_plan(r, scenarios.get("gitops"), controller_names),
        safety=_safety(r, top.get("safety")),
        inventory=_inventory(r, top.get("inventory"), cluster_names, dr),
    )


def _unique(r: Reader, key: str, names: list[str]) -> set[str]:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise r.fail(f"{key}[{index}].name", "duplicate name", name)
        seen.add(name)
    return seen


def _known(r: Reader, value: Any, key: str, known: set[str], what: str) -> str:
    value = r.string(value, key)
    if value not in known:
        raise r.fail(key, f"unknown {what}; expected one of {sorted(known)}", value)
    return value


def _endpoint(r: Reader, key: str, item: Any) -> Endpoint:
    item = r.mapping(item, key, required=["name", "url"], optional=[
        "path", "method", "headers", "headers_from_env", "timeout", "connect_timeout", "redirects", "ca_file"])
    header = r"[A-Za-z0-9-]+"
    headers, from_env = item.get("headers") or {}, item.get("headers_from_env") or {}
    for name, value in (("headers", headers), ("headers_from_env", from_env)):
        if not isinstance(value, dict):
            raise r.fail(f"{key}.{name}", "expected a mapping of header name to value", value)
    return Endpoint(
        r.string(item["name"], f"{key}.name"), r.string(item["url"], f"{key}.url", r"https?://\S+", "an http(s) URL"),
        path=(path := r.choice(item.get("path"), f"{key}.path", ("reads", "writes"), "reads")),
        method=r.choice(item.get("method"), f"{key}.method", ("GET", "HEAD", "POST", "PUT"),
                        "GET" if path == "reads" else "POST"),
        headers=tuple((r.string(name, f"{key}.headers", header, "a header name"), r.string(value, f"{key}.headers.{name}"))
                      for name, value in sorted(headers.items())),
        headers_from_env=tuple((r.string(name, f"{key}.headers_from_env", header, "a header name"),
                                r.string(var, f"{key}.headers_from_env.{name}", r"[A-Z_][A-Z0-9_]*",
                                         "an environment variable name"))
                               for name, var in sorted(from_env.items())),
        timeout_s=r.duration_s(item.get("timeout"), f"{key}.timeout", 2.0),
        connect_timeout_s=r.duration_s(item.get("connect_timeout"), f"{key}.connect_timeout", 1.0),
        redirects=r.choice(item.get("redirects"), f"{key}.redirects", ("accept", "follow", "fail"), "accept"),
        ca_file=r.optional_string(item.get("ca_file"), f"{key}.ca_file"),
    )


def _data_canary(r: Reader, value: Any, regions: set[str]) -> DataCanary | None:
    if value is None:
        return None
    value = r.mapping(value, "data_canary", required=["postgres"], optional=["dynamodb"])
    pg = r.mapping(value["postgres"], "data_canary.postgres", required=["dsn_env"], optional=["table"])
    dsn_env = r.string(pg["dsn_env"], "data_canary.postgres.dsn_env", r"[A-Z_][A-Z0-9_]*", "an environment variable name")
    table = r.string(pg.get("table", "zerospof_canary"), "data_canary.postgres.table", r"[a-z_][a-z0-9_]*", "a table name")
    ddb_region = ddb_table = None
    if value.get("dynamodb") is not None:
        ddb = r.mapping(value["dynamodb"], "data_canary.dynamodb", required=["region", "table"])
        ddb_region = _known(r, ddb["region"], "data_canary.dynamodb.region", regions, "region")
        ddb_table = r.string(ddb["table"], "data_canary.dynamodb.table")
    return DataCanary(dsn_env, table, ddb_region, ddb_table)


def _cluster(r: Reader, key: str, item: Any, regions: set[str], contexts: tuple[str, ...]) -> Cluster:
    item = r.mapping(item, key, required=["name", "context", "region"], optional=["managed", "kubeconfig", "node_label_selector"])
    context = r.string(item["context"], f"{key}.context")
    if context not in contexts:
        raise r.fail(f"{key}.context", "not in kubernetes.allowed_contexts", context)
    return Cluster(
        name=r.string(item["name"], f"{key}.name"),
        context=context,
        region=_known(r, item["region"], f"{key}.region", regions, "region"),
        managed=r.boolean(item.get("managed"), f"{key}.managed", default=True),
        kubeconfig=r.optional_string(item.get("kubeconfig"), f"{key}.kubeconfig"),
        node_label_selector=r.string(item.get("node_label_selector", "zerospof/chaos=allowed"), f"{key}.node_label_selector"),
    )


def _controller(r: Reader, key: str, item: Any, clusters: set[str]) -> GitopsController:
    item = r.mapping(item, key, required=["name", "cluster", "engine", "namespace", "workload"],
                     optional=["role", "pod_label_selector", "lease"])
    workload = r.mapping(item["workload"], f"{key}.workload", required=["kind", "name"])
    lease = {} if item.get("lease") is None else r.mapping(item["lease"], f"{key}.lease", required=["name"],
                                                           optional=["namespace"])
    return GitopsController(
        name=r.string(item["name"], f"{key}.name"),
        cluster=_known(r, item["cluster"], f"{key}.cluster", clusters, "cluster"),
        engine=r.choice(item["engine"], f"{key}.engine", ["argocd", "flux"]),
        role=r.choice(item.get("role"), f"{key}.role", ["active", "standby", "backup"], default="active"),
        namespace=r.string(item["namespace"], f"{key}.namespace"),
        workload_kind=r.choice(workload["kind"], f"{key}.workload.kind", ["deployment", "statefulset"]),
        workload_name=r.string(workload["name"], f"{key}.workload.name"),
        pod_label_selector=r.string(item.get("pod_label_selector") or f"app.kubernetes.io/name={workload['name']}",
                                    f"{key}.pod_label_selector"),
        lease_namespace=r.optional_string(lease.get("namespace"), f"{key}.lease.namespace"),
        lease_name=r.optional_string(lease.get("name"), f"{key}.lease.name"),
    )


def _application(r: Reader, key: str, item: Any, clusters: set[str]) -> ArgoApplication:
    item = r.mapping(item, key, required=["cluster", "name"], optional=["namespace"])
    return ArgoApplication(_known(r, item["cluster"], f"{key}.cluster", clusters, "cluster"),
                           r.string(item.get("namespace", "argocd"), f"{key}.namespace"),
                           r.string(item["name"], f"{key}.name"))


def _gitops_canary(r: Reader, value: Any, clusters: set[str]) -> GitopsCanary | None:
    if value is None:
        return None
    key = "gitops.canary"
    value = r.mapping(value, key, required=["repository", "branch", "file", "served"], optional=["rpo_branch"])
    repository = r.string(value["repository"], f"{key}.repository", GIT_REMOTE,
                          "a git remote URL (https://, ssh://, file:// or user@host:path)")
    if re.match(r"[a-z]+://[^/@]*:[^/@]*@", repository):
        raise r.fail(f"{key}.repository", "must not carry a password: use git's credential helper or an SSH key",
                     re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", repository))
    served = r.mapping(value["served"], f"{key}.served", optional=["argocd_application", "endpoint"])
    if served.get("argocd_application") is None and served.get("endpoint") is None:
        raise r.fail(f"{key}.served", "must name argocd_application and/or endpoint: how the served revision is seen")
    application = None
    if served.get("argocd_application") is not None:
        application = _application(r, f"{key}.served.argocd_application", served["argocd_application"], clusters)
    endpoint = r.mapping(served.get("endpoint"), f"{key}.served.endpoint", optional=["url", "field"])
    if endpoint and endpoint.get("url") is None:
        raise r.fail(f"{key}.served.endpoint.url", "is required")
    branch = r.string(value["branch"], f"{key}.branch", BRANCH, "a branch name such as main")
    return GitopsCanary(
        repository=repository,
        branch=branch,
        file=_repository_file(r, value["file"], f"{key}.file"),
        application=application,
        endpoint_url=r.optional_string(endpoint.get("url"), f"{key}.served.endpoint.url", r"https?://\S+", "an http(s) URL"),
        endpoint_field=r.string(endpoint.get("field", "revision"), f"{key}.served.endpoint.field"),
        rpo_branch=_rpo_branch(r, value.get("rpo_branch"), f"{key}.rpo_branch", branch),
    )


def _rpo_branch(r: Reader, value: Any, key: str, deploy_branch: str) -> str | None:
    """The RPO canary's own branch: a plain branch name (no ``refs/``), never the branch the platform deploys from."""
    if isinstance(value, str) and value.startswith("refs/"):
        raise r.fail(key, "expected a branch name, not a ref (leave out refs/heads/)", value)
    branch = r.optional_string(value, key, BRANCH, "a branch name such as zerospof-rpo-canary")
    if branch == deploy_branch:
        raise r.fail(key, "must differ from gitops.canary.branch (the branch the platform deploys from): the RPO "
                     "canary pushes a commit a second to a branch of its own", branch)
    return branch


def _repository_file(r: Reader, value: Any, key: str) -> str:
    path = r.string(value, key, r"[^\s/][^\s]*", "a path relative to the repository root, such as deploy/canary-revision")
    if path.endswith("/") or any(part in ("", ".", "..", ".git") for part in path.split("/")):
        raise r.fail(key, "expected a path to one file inside the repository (no '.', '..', '.git' or empty part)", path)
    return path


def _detection(r: Reader, value: Any, regions: set[str], clusters: set[str]) -> Detection:
    value = r.mapping(value, "detection", optional=["alb_target_groups", "route53_health_checks", "cloudwatch_alarms", "leases"])
    groups = []
    for key, item in r.items(value.get("alb_target_groups"), "detection.alb_target_groups"):
        item = r.mapping(item, key, required=["region", "arn"])
        groups.append((_known(r, item["region"], f"{key}.region", regions, "region"),
                       r.string(item["arn"], f"{key}.arn", r"arn:aws[a-z-]*:elasticloadbalancing:\S+", "a target group ARN")))
    alarms = []
    for key, item in r.items(value.get("cloudwatch_alarms"), "detection.cloudwatch_alarms"):
        item = r.mapping(item, key, required=["region", "name"])
        alarms.append((_known(r, item["region"], f"{key}.region", regions, "region"), r.string(item["name"], f"{key}.name")))
    leases = []
    for key, item in r.items(value.get("leases"), "detection.leases"):
        item = r.mapping(item, key, required=["cluster", "namespace", "name"])
        leases.append((_known(r, item["cluster"], f"{key}.cluster", clusters, "cluster"),
                       r.string(item["namespace"], f"{key}.namespace"), r.string(item["name"], f"{key}.name")))
    checks = r.strings(value.get("route53_health_checks"), "detection.route53_health_checks")
    return Detection(tuple(groups), checks, tuple(alarms), tuple(leases))


def _az_plan(r: Reader, value: Any, zones: tuple[str, ...], clusters: set[str]) -> AzFailurePlan | None:
    if value is None:
        return None
    key = "scenarios.az-failure"
    value = r.mapping(value, key, required=["availability_zone"],
                      optional=["drain_nodes", "drain_cluster", "fis_power_interruption_template_id"])
    zone = r.string(value["availability_zone"], f"{key}.availability_zone")
    if zone not in zones:
        raise r.fail(f"{key}.availability_zone", f"not an availability zone of the primary region {list(zones)}", zone)
    drain = r.boolean(value.get("drain_nodes"), f"{key}.drain_nodes")
    drain_cluster = None
    if drain:
        drain_cluster = _known(r, value.get("drain_cluster"), f"{key}.drain_cluster", clusters, "cluster")
    return AzFailurePlan(zone, drain, drain_cluster,
                         r.optional_string(value.get("fis_power_interruption_template_id"),
                                           f"{key}.fis_power_interruption_template_id", r"EXT[A-Za-z0-9]+", "a FIS template id (EXT...)"))


def _region_plan(r: Reader, value: Any) -> RegionFailurePlan | None:
    if value is None:
        return None
    key = "scenarios.region-failure"
    value = r.mapping(value, key, optional=["fis_template_id", "recovery", "aurora_failover"])
    recovery = r.choice(value.get("recovery"), f"{key}.recovery", ["automatic", "manual"], default="automatic")
    failover = r.mapping(value.get("aurora_failover"), f"{key}.aurora_failover", optional=["cluster_id", "target_instance_id"])
    cluster_id = r.optional_string(failover.get("cluster_id"), f"{key}.aurora_failover.cluster_id")
    if recovery == "manual" and cluster_id is None:
        raise r.fail(f"{key}.aurora_failover.cluster_id", "is required when recovery is manual")
    return RegionFailurePlan(
        r.optional_string(value.get("fis_template_id"), f"{key}.fis_template_id", r"EXT[A-Za-z0-9]+", "a FIS template id (EXT...)"),
        recovery, cluster_id,
        r.optional_string(failover.get("target_instance_id"), f"{key}.aurora_failover.target_instance_id"))


def _control_plane_plan(r: Reader, value: Any, clusters: set[str]) -> ControlPlanePlan | None:
    if value is None:
        return None
    key = "scenarios.control-plane"
    value = r.mapping(value, key, required=["cluster"],
                      optional=["security_group_tags", "api_port", "self_managed_pod_selectors", "self_managed_namespace"])
    port = value.get("api_port", 443)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise r.fail(f"{key}.api_port", "expected a TCP port number", port)
    return ControlPlanePlan(
        cluster=_known(r, value["cluster"], f"{key}.cluster", clusters, "cluster"),
        security_group_tags=r.string_map(value.get("security_group_tags"), f"{key}.security_group_tags"),
        api_port=port,
        self_managed_pod_selectors=r.strings(value.get("self_managed_pod_selectors",
                                                       ["component=etcd", "component=kube-apiserver", "component=kube-scheduler"]),
                                             f"{key}.self_managed_pod_selectors"),
        self_managed_namespace=r.string(value.get("self_managed_namespace", "kube-system"), f"{key}.self_managed_namespace"),
    )


def _gitops_plan(r: Reader, value: Any, controllers: set[str]) -> GitopsPlan | None:
    if value is None:
        return None
    key = "scenarios.gitops"
    value = r.mapping(value, key, required=["controller"], optional=["method"])
    return GitopsPlan(_known(r, value["controller"], f"{key}.controller", controllers, "GitOps controller"),
                      r.choice(value.get("method"), f"{key}.method", ["scale-to-zero", "delete-pod", "suspend"],
                               default="scale-to-zero"))


def _inventory(r: Reader, value: Any, clusters: set[str], dr: str | None) -> Inventory:
    key = "inventory"
    value = r.mapping(value, key, optional=["cluster", "namespaces", "deployments", "databases", "dns", "security"])
    cluster = None if value.get("cluster") is None else _known(r, value["cluster"], f"{key}.cluster", clusters, "cluster")
    deployments = []
    for item_key, item in r.items(value.get("deployments"), f"{key}.deployments"):
        item = r.mapping(item, item_key, required=["namespace", "name"])
        deployments.append((r.string(item["namespace"], f"{item_key}.namespace"), r.string(item["name"], f"{item_key}.name")))
    namespaces = r.strings(value.get("namespaces"), f"{key}.namespaces")
    if (namespaces or deployments) and cluster is None:
        raise r.fail(f"{key}.cluster", "is required with namespaces or deployments (the cluster they run in)")
    security = r.mapping(value.get("security"), f"{key}.security", optional=["kms_keys", "secrets"])
    kms_keys = r.strings(security.get("kms_keys"), f"{key}.security.kms_keys")
    secrets = r.strings(security.get("secrets"), f"{key}.security.secrets")
    if (kms_keys or secrets) and dr is None:
        raise r.fail(f"{key}.security", "needs aws.regions.dr: the replicas live in the DR (standby) region")
    return Inventory(cluster=cluster, namespaces=namespaces, deployments=tuple(deployments),
                     databases=r.strings(value.get("databases"), f"{key}.databases"),
                     dns=_dns_inventory(r, value.get("dns"), f"{key}.dns"), kms_keys=kms_keys, secrets=secrets)


def _dns_inventory(r: Reader, value: Any, key: str) -> DnsInventory | None:
    if value is None:
        return None
    value = r.mapping(value, key, required=["zone_id", "records"], optional=["secondary_provider"])
    secondary = None
    if value.get("secondary_provider") is not None:
        provider = r.mapping(value["secondary_provider"], f"{key}.secondary_provider", required=["name", "nameservers"],
                             optional=["port"])
        port = provider.get("port", 53)
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise r.fail(f"{key}.secondary_provider.port", "expected a UDP port number", port)
        secondary = SecondaryDns(r.string(provider["name"], f"{key}.secondary_provider.name"),
                                 r.strings(provider["nameservers"], f"{key}.secondary_provider.nameservers",
                                           r"[0-9a-fA-F.:]+", "a nameserver's IP address", allow_empty=False), port)
    return DnsInventory(r.string(value["zone_id"], f"{key}.zone_id", r"[A-Z0-9]+", "a Route 53 hosted zone id"),
                        tuple(name.rstrip(".") for name in r.strings(value["records"], f"{key}.records",
                                                                     allow_empty=False)), secondary)


def _safety(r: Reader, value: Any) -> Safety:
    value = r.mapping(value, "safety", optional=["runner", "allow_runner_blackhole", "abort"])
    runner = r.mapping(value.get("runner"), "safety.runner", optional=["subnet_ids", "discover"])
    abort = r.mapping(value.get("abort"), "safety.abort", optional=["availability_floor", "limit"])
    return Safety(
        runner_subnet_ids=r.strings(runner.get("subnet_ids"), "safety.runner.subnet_ids", r"subnet-[0-9a-f]+", "a subnet id"),
        discover_runner_subnets=r.boolean(runner.get("discover"), "safety.runner.discover", default=True),
        allow_runner_blackhole=r.boolean(value.get("allow_runner_blackhole"), "safety.allow_runner_blackhole"),
        availability_floor_percent=r.percent(abort.get("availability_floor"), "safety.abort.availability_floor", 50.0),
        availability_limit_s=r.duration_s(abort.get("limit"), "safety.abort.limit", 60.0),
    )


def check_against_account(target: AwsTarget, clients: Any) -> str:
    """Check what only the account can tell, before any fault: the caller's account is allowed (SafetyRefusal
    otherwise) and every availability zone the target file names exists there (ConfigError naming the key).
    Read-only; returns the account id."""
    from zerospof.aws.run import preflight

    account = preflight(target, clients)  # NoAccess ("no access to AWS ...") without credentials; refuses others
    r = Reader(target.path)
    for region, zones in target.availability_zones.items():
        found = clients.client("ec2", region).describe_availability_zones().get("AvailabilityZones", [])
        existing = sorted(zone["ZoneName"] for zone in found)
        for index, zone in enumerate(zones):
            if zone not in existing:
                raise r.fail(f"aws.availability_zones.{region}[{index}]",
                             f"no such availability zone in account {account}; {region} has {existing}", zone)
    return account
