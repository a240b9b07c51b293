"""The AWS target file's declarative schema (pydantic): the shape of every key, and its cross-references.

:class:`AwsTargetFile` says what each key accepts (unknown keys are errors); :func:`reference_errors`
checks what one part of the file says about another (a cluster's region is one of ``aws.regions``,
a controller's cluster is a named cluster, ...). Both report every problem at once; the shape is also
exported as JSON Schema for editors (``python -m zerospof.aws.target``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, WithJsonSchema

from zerospof.errors import ConfigError
from zerospof.schema import Duration, Percent

__all__ = ["AwsTargetFile", "LabTargetFile", "matching", "reference_errors"]

REGION = r"[a-z]{2}(-gov)?-[a-z]+-\d"
ACCOUNT = r"\d{12}"
GIT_REMOTE = r"(https?|ssh|git|file)://\S+|[\w.-]+@[\w.-]+:\S+"
BRANCH = r"(?!refs/)(?!.*\.\.)(?!.*//)[A-Za-z0-9][A-Za-z0-9._/-]*(?<![./])"
ENV_NAME = r"[A-Z_][A-Z0-9_]*"
HTTP_URL = r"https?://\S+"
FIS_TEMPLATE = r"EXT[A-Za-z0-9]+"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("expected a non-empty string")
    return value


Text = Annotated[str, AfterValidator(_not_blank), WithJsonSchema({"type": "string", "pattern": r"\S"})]


def matching(pattern: str, what: str) -> Any:
    """A string matching ``pattern`` (ASCII only); anything else (an unquoted number too) is "expected ``what``"."""
    compiled = re.compile(pattern, re.ASCII)

    def check(value: object) -> object:
        if not isinstance(value, str) or compiled.fullmatch(value) is None:
            raise ValueError(f"expected {what}")
        return value

    return Annotated[str, BeforeValidator(check), WithJsonSchema({"type": "string", "pattern": f"^(?:{pattern})$",
                                                                 "description": what})]


def _branch(value: str) -> str:
    if value.startswith("refs/"):
        raise ValueError("expected a branch name, not a ref (leave out refs/heads/)")
    if re.fullmatch(BRANCH, value, re.ASCII) is None:
        raise ValueError("expected a branch name such as main")
    return value


Branch = Annotated[str, AfterValidator(_branch), WithJsonSchema({"type": "string", "pattern": f"^(?:{BRANCH})$",
                                                                 "description": "a branch name such as main"})]
PASSWORD_IN_URL = r"[a-z]+://[^/@]*:[^/@]*@"


def _repository_file(value: str) -> str:
    if value.endswith("/") or any(part in ("", ".", "..", ".git") for part in value.split("/")):
        raise ValueError("expected a path to one file inside the repository (no '.', '..', '.git' or empty part)")
    return value


Region = matching(REGION, "an AWS region such as us-west-2")
AccountId = matching(ACCOUNT, "a 12-digit account id in quotes")
HeaderName = matching(r"[A-Za-z0-9-]+", "a header name")
TableName = matching(r"[a-z_][a-z0-9_]*", "a table name")
NamespaceName = matching(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", "a namespace name")
GitRemote = matching(GIT_REMOTE, "a git remote URL (https://, ssh://, file:// or user@host:path)")
RepositoryFile = Annotated[matching(r"[^\s/][^\s]*", "a path relative to the repository root, such as "
                                    "deploy/canary-revision"), AfterValidator(_repository_file)]
TargetGroupArn = matching(r"arn:aws[a-z-]*:elasticloadbalancing:\S+", "a target group ARN")
SubnetId = matching(r"subnet-[0-9a-f]+", "a subnet id")
FisTemplate = matching(FIS_TEMPLATE, "a FIS template id (EXT...)")
HttpUrl = matching(HTTP_URL, "an http(s) URL")
EnvName = matching(ENV_NAME, "an environment variable name")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Regions(_Section):
    primary: Region
    dr: Region | None = None


class Aws(_Section):
    allowed_account_ids: list[AccountId] = Field(min_length=1)
    regions: Regions
    availability_zones: dict[str, list[Text]] = Field(description="region -> its zones: the primary region's, and "
                                                      "the DR region's when there is one")
    selection_tags: dict[str, str] = Field(min_length=1, description="only resources with all these tags are touched")
    endpoint_url: HttpUrl | None = None


class Endpoint(_Section):
    name: Text
    url: HttpUrl
    path: Literal["reads", "writes"] = "reads"
    method: Literal["GET", "HEAD", "POST", "PUT"] | None = Field(None, description="default GET for reads, POST "
                                                                  "for writes")
    headers: dict[HeaderName, Text] = {}
    headers_from_env: dict[HeaderName, EnvName] = {}
    timeout: Duration = 2.0
    connect_timeout: Duration = 1.0
    redirects: Literal["accept", "follow", "fail"] = "accept"
    ca_file: Text | None = None


class Postgres(_Section):
    dsn_env: EnvName
    table: TableName = "zerospof_canary"


class DynamoDb(_Section):
    region: Text
    table: Text


class DataCanary(_Section):
    postgres: Postgres
    dynamodb: DynamoDb | None = None


class Cluster(_Section):
    name: Text
    context: Text = Field(description="one of kubernetes.allowed_contexts")
    region: Text
    managed: StrictBool = True
    kubeconfig: Text | None = None
    node_label_selector: Text = "zerospof/chaos=allowed"
    event_namespaces: list[NamespaceName] | None = Field(
        None, description="whose events the report shows (default: 'default' and every namespace the file names here)")


class Kubernetes(_Section):
    allowed_contexts: list[Text] = []
    clusters: list[Cluster] = []


class Workload(_Section):
    kind: Literal["deployment", "statefulset"]
    name: Text


class Lease(_Section):
    name: Text
    namespace: Text | None = None


class Controller(_Section):
    name: Text
    cluster: Text
    engine: Literal["argocd", "flux"]
    role: Literal["active", "standby", "backup"] = "active"
    namespace: Text
    workload: Workload
    pod_label_selector: Text | None = None
    lease: Lease | None = None


class Application(_Section):
    cluster: Text
    namespace: Text = "argocd"
    name: Text


class ServedEndpoint(_Section):
    url: HttpUrl
    field: Text = "revision"


class Served(_Section):
    argocd_application: Application | None = None
    endpoint: ServedEndpoint | None = None


class Canary(_Section):
    repository: GitRemote = Field(
        description="no password in it: use git's credential helper or an SSH key")
    branch: Branch
    file: RepositoryFile
    served: Served
    rpo_branch: Branch | None = Field(None, description="where the GitOps RPO canary pushes; never branch")


class Gitops(_Section):
    controllers: list[Controller] = []
    applications: list[Application] = []
    canary: Canary | None = None


class RegionalArn(_Section):
    region: Text
    arn: TargetGroupArn


class Alarm(_Section):
    region: Text
    name: Text


class LeaseRef(_Section):
    cluster: Text
    namespace: Text
    name: Text


class Detection(_Section):
    alb_target_groups: list[RegionalArn] = []
    route53_health_checks: list[Text] = []
    cloudwatch_alarms: list[Alarm] = []
    leases: list[LeaseRef] = []


class AzFailure(_Section):
    availability_zone: Text
    drain_nodes: StrictBool = False
    drain_cluster: Text | None = Field(None, description="required when drain_nodes is true")
    fis_power_interruption_template_id: FisTemplate | None = None


class AuroraFailover(_Section):
    cluster_id: Text | None = Field(None, description="required when recovery is manual")
    target_instance_id: Text | None = None


class RegionFailure(_Section):
    fis_template_id: FisTemplate | None = None
    recovery: Literal["automatic", "manual"] = "automatic"
    aurora_failover: AuroraFailover = AuroraFailover()


class ControlPlane(_Section):
    cluster: Text
    security_group_tags: dict[str, str] = {}
    api_port: StrictInt = Field(443, ge=1, le=65535)
    self_managed_pod_selectors: list[Text] = ["component=etcd", "component=kube-apiserver", "component=kube-scheduler"]
    self_managed_namespace: Text = "kube-system"


class GitopsFault(_Section):
    controller: Text
    method: Literal["scale-to-zero", "delete-pod", "suspend"] = "scale-to-zero"


class Scenarios(_Section):
    az_failure: AzFailure | None = Field(None, alias="az-failure")
    region_failure: RegionFailure | None = Field(None, alias="region-failure")
    control_plane: ControlPlane | None = Field(None, alias="control-plane")
    gitops: GitopsFault | None = None


class Runner(_Section):
    subnet_ids: list[SubnetId] = []
    discover: StrictBool = True


class Abort(_Section):
    availability_floor: Percent = 50.0
    limit: Duration = 60.0


class Safety(_Section):
    runner: Runner = Runner()
    allow_runner_blackhole: StrictBool = False
    abort: Abort = Abort()


class InventoryDeployment(_Section):
    namespace: NamespaceName
    name: Text


class SecondaryProvider(_Section):
    name: Text
    nameservers: list[matching(r"[0-9a-fA-F.:]+", "a nameserver's IP address")] = Field(min_length=1)
    port: StrictInt = Field(53, ge=1, le=65535)


class InventoryDns(_Section):
    zone_id: matching(r"[A-Z0-9]+", "a Route 53 hosted zone id")
    records: list[Text] = Field(min_length=1)
    secondary_provider: SecondaryProvider | None = None


class InventorySecurity(_Section):
    kms_keys: list[Text] = []
    secrets: list[Text] = []


class Inventory(_Section):
    """What the SPOF sweep and the static audit look at (every part optional)."""

    cluster: Text | None = Field(None, description="the cluster the declared namespaces and deployments run in")
    namespaces: list[NamespaceName] = []
    deployments: list[InventoryDeployment] = []
    databases: list[Text] = Field([], description="Aurora DB cluster ids (primary region)")
    dns: InventoryDns | None = None
    security: InventorySecurity | None = None


class AwsTargetFile(_Section):
    """A target file of ``kind: aws``: an AWS + EKS staging environment."""

    model_config = ConfigDict(title="zerospof AWS target")

    kind: Literal["aws"]
    name: Text
    aws: Aws
    endpoints: list[Endpoint] | None = None
    data_canary: DataCanary | None = None
    kubernetes: Kubernetes | None = None
    gitops: Gitops | None = None
    detection: Detection | None = None
    scenarios: Scenarios | None = None
    safety: Safety | None = None
    inventory: Inventory | None = None


class LabTargetFile(_Section):
    """A target file of ``kind: lab``: the embedded lab on this machine."""

    model_config = ConfigDict(title="zerospof lab target")

    kind: Literal["lab"]
    name: str = "lab"
    keep_running: StrictBool = Field(False, alias="keep-running")


def reference_errors(document: Any, path: str) -> list[ConfigError]:
    """What one part of an AWS target file says about another, checked on the raw document: every problem.

    A value that is itself malformed is the schema's to report, so it is skipped here (no error twice).
    """
    top = _mapping(document)
    errors: list[ConfigError] = []

    def fail(key: str, message: str, value: object = None) -> None:
        errors.append(ConfigError(path, key, message, value))

    aws = _mapping(top.get("aws"))
    regions_section = _mapping(aws.get("regions"))
    primary, dr = (_text(regions_section.get(name), REGION) for name in ("primary", "dr"))
    if dr is not None and dr == primary:
        fail("aws.regions.dr", "must differ from the primary region", dr)
    regions = {region for region in (primary, dr) if region is not None}
    zones = _mapping(aws.get("availability_zones"))
    if primary is not None and isinstance(aws.get("availability_zones"), dict):
        if primary not in zones:
            fail(f"aws.availability_zones.{primary}", "missing required key")
        for region, listed in zones.items():
            if region not in regions:
                fail(f"aws.availability_zones.{region}", f"unknown key; expected one of {sorted(regions)}", region)
                continue
            for index, zone in enumerate(listed if isinstance(listed, list) else []):
                if isinstance(zone, str) and re.fullmatch(rf"{region}[a-z]", zone, re.ASCII) is None:
                    fail(f"aws.availability_zones.{region}[{index}]", f"expected an availability zone of {region}", zone)

    def known(value: Any, key: str, names: set[str] | None, what: str) -> None:
        if names is not None and isinstance(value, str) and value.strip() and value not in names:
            fail(key, f"unknown {what}; expected one of {sorted(names)}", value)

    region_names = regions if primary is not None and (dr is not None or "dr" not in regions_section) else None
    kubernetes, gitops = _mapping(top.get("kubernetes")), _mapping(top.get("gitops"))
    contexts = {c for c in _list(kubernetes.get("allowed_contexts")) if isinstance(c, str)}
    clusters = _names(_list(kubernetes.get("clusters")), "kubernetes.clusters", fail)
    controllers = _names(_list(gitops.get("controllers")), "gitops.controllers", fail)
    canary_section = _mapping(top.get("data_canary"))
    known(_mapping(canary_section.get("dynamodb")).get("region"), "data_canary.dynamodb.region", region_names, "region")
    for index, cluster in enumerate(_list(kubernetes.get("clusters"))):
        cluster = _mapping(cluster)
        context = cluster.get("context")
        if isinstance(context, str) and context.strip() and context not in contexts:
            fail(f"kubernetes.clusters[{index}].context", "not in kubernetes.allowed_contexts", context)
        known(cluster.get("region"), f"kubernetes.clusters[{index}].region", region_names, "region")
    for index, controller in enumerate(_list(gitops.get("controllers"))):
        known(_mapping(controller).get("cluster"), f"gitops.controllers[{index}].cluster", clusters, "cluster")
    for index, application in enumerate(_list(gitops.get("applications"))):
        known(_mapping(application).get("cluster"), f"gitops.applications[{index}].cluster", clusters, "cluster")
    canary = _mapping(gitops.get("canary"))
    repository = canary.get("repository")
    if isinstance(repository, str) and re.match(PASSWORD_IN_URL, repository):  # shown without the password
        fail("gitops.canary.repository", "must not carry a password: use git's credential helper or an SSH key",
             re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", repository))
    served = canary.get("served")
    if isinstance(served, dict) and served.get("argocd_application") is None and served.get("endpoint") is None:
        fail("gitops.canary.served", "must name argocd_application and/or endpoint: how the served revision is seen")
    known(_mapping(_mapping(served).get("argocd_application")).get("cluster"),
          "gitops.canary.served.argocd_application.cluster", clusters, "cluster")
    if isinstance(canary.get("rpo_branch"), str) and canary.get("rpo_branch") == canary.get("branch"):
        fail("gitops.canary.rpo_branch", "must differ from gitops.canary.branch (the branch the platform deploys "
             "from): the RPO canary pushes a commit a second to a branch of its own", canary["rpo_branch"])
    detection = _mapping(top.get("detection"))
    for section in ("alb_target_groups", "cloudwatch_alarms"):
        for index, item in enumerate(_list(detection.get(section))):
            known(_mapping(item).get("region"), f"detection.{section}[{index}].region", region_names, "region")
    for index, lease in enumerate(_list(detection.get("leases"))):
        known(_mapping(lease).get("cluster"), f"detection.leases[{index}].cluster", clusters, "cluster")
    scenarios = _mapping(top.get("scenarios"))
    az = _mapping(scenarios.get("az-failure"))
    primary_zones = zones.get(primary) if primary is not None else None
    if isinstance(primary_zones, list) and all(isinstance(zone, str) for zone in primary_zones):
        zone = az.get("availability_zone")
        if isinstance(zone, str) and zone.strip() and zone not in primary_zones:
            fail("scenarios.az-failure.availability_zone",
                 f"not an availability zone of the primary region {primary_zones}", zone)
    if az.get("drain_nodes") is True:
        if az.get("drain_cluster") is None:
            fail("scenarios.az-failure.drain_cluster", "is required when drain_nodes is true")
        known(az.get("drain_cluster"), "scenarios.az-failure.drain_cluster", clusters, "cluster")
    region_failure = _mapping(scenarios.get("region-failure"))
    if region_failure.get("recovery") == "manual" and _mapping(region_failure.get("aurora_failover")).get(
            "cluster_id") is None:
        fail("scenarios.region-failure.aurora_failover.cluster_id", "is required when recovery is manual")
    known(_mapping(scenarios.get("control-plane")).get("cluster"), "scenarios.control-plane.cluster", clusters, "cluster")
    known(_mapping(scenarios.get("gitops")).get("controller"), "scenarios.gitops.controller", controllers,
          "GitOps controller")
    inventory = _mapping(top.get("inventory"))
    known(inventory.get("cluster"), "inventory.cluster", clusters, "cluster")
    if (_list(inventory.get("namespaces")) or _list(inventory.get("deployments"))) and inventory.get("cluster") is None:
        fail("inventory.cluster", "is required with namespaces or deployments (the cluster they run in)")
    security = _mapping(inventory.get("security"))
    if (_list(security.get("kms_keys")) or _list(security.get("secrets"))) and "dr" not in regions_section:
        fail("inventory.security", "needs aws.regions.dr: the replicas live in the DR (standby) region")
    return errors


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any, pattern: str) -> str | None:
    return value if isinstance(value, str) and re.fullmatch(pattern, value, re.ASCII) else None


def _names(items: list[Any], key: str, fail: Any) -> set[str] | None:
    """The names of ``items`` (a duplicate is an error); None when one is not a plain name (then unknown)."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        name = _mapping(item).get("name")
        if not isinstance(name, str):
            return None
        if name in seen:
            fail(f"{key}[{index}].name", "duplicate name", name)
        seen.add(name)
    return seen
