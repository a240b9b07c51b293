"""The AWS + EKS target's side of a scenario (see :class:`zerospof.scenario.Driver`).

Everything comes from the target file. Users are simulated by requests to its ``endpoints``
(the host resolved on every request, so a DNS failover is seen). Detection signals are read
every ``SIGNAL_INTERVAL_S`` from the platform's own APIs:

==============  ===============================  ==========================================================
scenario        probe                            detected when
==============  ===============================  ==========================================================
az-failure      ``signal:alb-target-health``     a target of a ``detection.alb_target_groups`` group in the
                                                 lost AZ is not healthy (the ALB took it out)
region-failure  ``signal:route53-health-check``  most Route 53 checkers fail a ``detection.route53_health_checks`` check
region-failure  ``signal:cloudwatch-alarm``      a ``detection.cloudwatch_alarms`` alarm entered ALARM after monitoring began
control-plane   ``signal:node-ready``            a selected node of the scenario's cluster is NotReady
control-plane   ``signal:lease-holder``          a ``detection.leases`` Lease of that cluster changed holder
gitops          ``signal:argocd-application``    a ``gitops.applications`` Application is not Synced or not Healthy
gitops          ``signal:lease-holder``          the failed controller's Lease changed holder (a standby took over)
==============  ===============================  ==========================================================

GitOps canary (``gitops.canary``, optional): :meth:`AwsDriver.commit_canary` pushes a new revision
into the one configured file (:class:`~zerospof.aws.gitops_canary.GitCanary`, fast-forward only)
and the gitops scenario samples ``served-revision`` every ``REVISION_INTERVAL_S``
(:class:`~zerospof.aws.gitops_canary.ServedRevision`), from which deployment delay and the
delivery RTO are measured. Without the section the canary commit fails saying so: deployment
delay is not measured.

GitOps RPO (``gitops.canary.rpo_branch``, optional): the gitops scenario's ``write-canary`` sampler
pushes a numbered commit tagged with the run id to that branch (never the deploy branch) about once
a second (:class:`~zerospof.aws.git_rpo_canary.GitRpoCanary`, fast-forward only), and
:meth:`AwsDriver.read_back` lists which of them the remote's branch has now, so a push the git host
acknowledged but lost at failover counts as lost. Without the key the read-back fails saying so and
the GitOps RPO is reported not measured.

Failover has finished (:meth:`AwsDriver.recovered`) when users are served and a *failover*
signal reports the fault (the ALB took the AZ out, Route 53 failed the primary, nodes went
NotReady, a new Lease holder); an alarm or an out-of-sync Application only says the fault was
noticed, so they count only when the scenario has no failover signal.

Lease holders and alarms are compared with a :class:`SignalBaseline` read when the run's monitoring
starts, before the fault, so a standby that takes over at once (before ``wait_for_recovery`` first
asks) still counts. Each Chaos Toolkit activity builds its own driver (``zerospof.drivers.driver_for``):
the baseline travels in the run's ``Monitoring.baseline``, which ``wait_for_recovery`` hands to
:meth:`AwsDriver.recovered` (without one, ``recovered`` reads it at its first call).
"""

from __future__ import annotations

import http.client
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from zerospof.aws.canary import PostgresCanary
from zerospof.aws.clients import AwsClients
from zerospof.aws.component_logs import read_component_logs
from zerospof.aws.dr_actions import documented_dr_action
from zerospof.aws.git_rpo_canary import GitRpoCanary
from zerospof.aws.gitops_canary import GitCanary, ServedRevision
from zerospof.aws.probes import StandbySecurity, alb_target_health, cloudwatch_alarm, route53_health_check
from zerospof.aws.route53_health import Route53HealthChecks
from zerospof.aws.run import preflight, runner_subnet_ids
from zerospof.aws.scenarios import plan_faults
from zerospof.aws.target import AwsTarget, Cluster, Endpoint, check_against_account
from zerospof.component_logs import CollectedLogs
from zerospof.errors import ConfigError, TargetError, ZerospofError
from zerospof.faults import Fault
from zerospof.faults.composite import AllOf
from zerospof.k8s import probes as k8s_probes
from zerospof.k8s.clients import KubeClients
from zerospof.monitors import HttpProbe, ProbeFailed
from zerospof.cloud.boundary import CloudApiError
from zerospof.scenario import SECURITY_REPLICA, SERVED_REVISION, WRITE_CANARY, Layer, Plan, PlannedDriver

__all__ = ["AwsDriver", "FAILOVER_SIGNALS", "SignalBaseline"]

Reader = Callable[[], dict[str, Any]]

SIGNAL_INTERVAL_S = 1.0  # AWS and Kubernetes API reads: well inside their rate limits
CANARY_INTERVAL_S = 0.2
GIT_RPO_INTERVAL_S = 1.0  # one RPO canary push a second: the resolution of the GitOps RPO
REVISION_INTERVAL_S = 0.5  # the served-revision sampler: the resolution of deployment delay
USER_CONCURRENCY = 64  # open-loop users: slow answers must not lower the rate
CONNECT_TIMEOUT_S = 1.0
REQUEST_TIMEOUT_S = 2.0
SERVING_ROUNDS = 3
DATA_SCENARIOS = ("az-failure", "region-failure")  # where the data canary's RPO is the scenario's RPO
FAILOVER_SIGNALS = frozenset({"signal:alb-target-health", "signal:route53-health-check", "signal:node-ready",
                              "signal:lease-holder"})
_REQUEST_ERRORS = (OSError, ProbeFailed, http.client.HTTPException)


@dataclass(frozen=True)
class SignalBaseline:
    """What a scenario's detection signals compare with, read once before the fault.

    ``since_wall``: CloudWatch alarms count from here (epoch seconds). ``lease_holders``: the
    ``holderIdentity`` of each watched Lease, by ``(namespace, name)``; a later holder is a takeover.
    """

    since_wall: float
    lease_holders: Mapping[tuple[str, str], str | None]


def _refuse_options(options: dict[str, Any] | None) -> None:
    if options:
        raise ConfigError("experiment", "configuration.zerospof_fault_options",
                          "an AWS target takes its faults from the target file's scenarios section; leave this out",
                          options)


class AwsDriver(PlannedDriver):
    """Scenarios on the AWS + EKS environment a target file describes."""

    def __init__(self, target: AwsTarget) -> None:
        self.target = target
        self.clients = AwsClients(target.endpoint_url)
        self._unset_headers: list[str] = []
        self._endpoints = {endpoint.name: self._probe(endpoint) for endpoint in target.endpoints
                           if endpoint.path == "reads"}
        self._write_endpoints = {endpoint.name: self._probe(endpoint) for endpoint in target.endpoints
                                 if endpoint.path == "writes"}
        self._kube_clients: dict[str, KubeClients] = {}
        self._failover: dict[str, dict[str, Reader]] = {}
        self._served: ServedRevision | None = None

    def _probe(self, endpoint: Endpoint) -> HttpProbe:
        """The users' probe of ``endpoint``: its method, timeouts, redirect rule, CA and headers (secret ones
        read from the environment now; an unset variable is reported by :meth:`check_ready`)."""
        headers = dict(endpoint.headers)
        for name, variable in endpoint.headers_from_env:
            if os.environ.get(variable):
                headers[name] = os.environ[variable]
            else:
                self._unset_headers.append(f"endpoint {endpoint.name}: header {name}: ${variable} is not set")
        context = ssl.create_default_context(cafile=endpoint.ca_file) if endpoint.ca_file else None
        return HttpProbe(endpoint.url, connect_timeout_s=endpoint.connect_timeout_s, timeout_s=endpoint.timeout_s,
                         method=endpoint.method, headers=headers, redirects=endpoint.redirects, ssl_context=context)

    # -- readiness ------------------------------------------------------------------------------
    def check_ready(self) -> None:
        """Refuse an account or kube context off the allow-lists; raise TargetError naming every unhealthy part.

        Ready means: every endpoint answers, no detection signal already reports a fault (ALB
        targets, Route 53 checks, alarms, node readiness, Argo CD Applications) and the data
        canary's DSN is set when the target has one.
        """
        preflight(self.target, self.clients)
        check_against_account(self.target, self.clients)  # a zone the account lacks is bad input, found before the fault
        problems = list(self._unset_headers)
        if not self._endpoints:
            problems.append("the target file lists no endpoints: users cannot be simulated")
        for name, probe in self._endpoints.items():
            try:
                probe()
            except _REQUEST_ERRORS as exc:
                problems.append(f"endpoint {name} ({probe.url}) does not answer: {type(exc).__name__}: {exc}")
        for name, read in self._steady_signals().items():
            try:
                view = read()
            except ZerospofError as exc:
                problems.append(f"{name}: {exc}")
                continue
            if view["detected"]:
                problems.append(f"{name} already reports a fault: {view}")
        try:
            self._canary("readiness")  # connects to nothing; fails when the DSN's variable is not set
        except TargetError as exc:
            problems.append(str(exc))
        if problems:
            raise TargetError(f"target {self.target.name} ({self.target.path}) is not ready: " + "; ".join(problems))

    def restore(self) -> bool:
        """Report the target back in its reference state: zerospof changes nothing on AWS beyond its reverted faults.

        The documented DR action (a manual Aurora failover) is recovery, not a fault: failing back
        is the operators' decision and is not done here.
        """
        return True

    def serving(self) -> bool:
        for _ in range(SERVING_ROUNDS):
            try:
                self._users()
            except ProbeFailed:
                return False
        return True

    def _users(self, endpoints: dict[str, HttpProbe] | None = None) -> dict[str, Any]:
        """One request to every (read) endpoint; raise ProbeFailed naming the first that fails."""
        seen = {}
        for name, probe in (self._endpoints if endpoints is None else endpoints).items():
            try:
                answer = probe()
            except _REQUEST_ERRORS as exc:
                raise ProbeFailed(f"{name}: {type(exc).__name__}: {exc}") from exc
            seen[name] = {"status": answer["status"], "address": answer["address"],
                          "latency_s": round(answer["latency_s"], 4)}
        if not seen:
            raise ProbeFailed("the target file lists no endpoints")
        return seen

    # -- faults ---------------------------------------------------------------------------------
    def fault(self, scenario: str, options: dict[str, Any]) -> Fault:
        """The scenario's faults from the target file, as one fault (:class:`AllOf` when there are several)."""
        _refuse_options(options)
        faults = plan_faults(self.target, scenario, runner_subnet_ids(self.target))
        return faults[0] if len(faults) == 1 else AllOf.of(faults)

    def dr_action(self, scenario: str) -> dict[str, Any] | None:
        """Run the documented DR action (region failure, ``recovery: manual``); None when there is none. Not reverted."""
        return documented_dr_action(self.target, self.clients) if scenario == "region-failure" else None

    # -- monitoring -----------------------------------------------------------------------------
    def plan(self, scenario: str, run_id: str, options: dict[str, Any] | None = None) -> Plan:
        """Users on the target file's endpoints (reads; writes where it lists write endpoints), the
        scenario's detection signals, and the canaries the target file configures."""
        _refuse_options(options)
        plan_faults(self.target, scenario)  # ConfigError when the target file does not describe the scenario
        baseline = self._baseline(scenario)
        readers = self._signals(scenario, baseline)
        if not readers:
            raise ConfigError(self.target.path, "detection", f"names no detection signal the {scenario} scenario reads "
                              "(see zerospof/aws/driver.py): detection could not be measured")
        extra: dict[str, tuple[Reader, float, int]] = {}
        stop_hooks: list[Callable[[], None]] = []
        canary = self._canary(run_id) if scenario in DATA_SCENARIOS else None
        if canary is not None:
            extra[WRITE_CANARY] = (canary.write, CANARY_INTERVAL_S, 1)
            stop_hooks.append(canary.close)
        if scenario == "gitops" and self.target.gitops_canary is not None:
            served = self._served_revision()
            served.check()  # before any fault: the branch, the file and every observer can be read
            extra[SERVED_REVISION] = (served, REVISION_INTERVAL_S, 1)
            stop_hooks.append(served.close)
        layer_signals: dict[Layer, tuple[str, str]] = {}
        security = self.standby_security() if scenario == "region-failure" else None
        if security is not None:
            extra[SECURITY_REPLICA] = (security, SIGNAL_INTERVAL_S, 1)
            layer_signals[Layer.SECURITY] = (SECURITY_REPLICA, "refreshed_at")
        git_canary = self._git_rpo_canary(run_id) if scenario == "gitops" else None
        if git_canary is not None:
            git_canary.check()  # before any fault: the remote can be read
            extra[WRITE_CANARY] = (git_canary.write, GIT_RPO_INTERVAL_S, 1)  # bounded by MAX_PUSHES too
            stop_hooks.append(git_canary.close)
        return Plan(paths=self._paths(), signals=readers,
                    signal_interval_s=SIGNAL_INTERVAL_S, extra=extra, layer_signals=layer_signals,
                    rpo_probe=WRITE_CANARY, path_concurrency=USER_CONCURRENCY, stop_hooks=stop_hooks,
                    abort_floor=self.target.safety.availability_floor_percent / 100,
                    abort_after_s=self.target.safety.availability_limit_s, baseline=baseline,
                    component_logs=self.component_logs)

    def component_logs(self, t0_wall: float) -> CollectedLogs:
        """What the alarms' history and the clusters' events recorded around ``t0_wall``, read now (after the fault)."""
        return read_component_logs(self.target, self.clients, self._kube, t0_wall, time.time())

    def _paths(self) -> dict[str, Reader | str]:
        writes: Reader | str = (lambda: self._users(self._write_endpoints)) if self._write_endpoints else (
            "the target file lists no write endpoint (an endpoints entry with path: writes)")
        return {"reads": self._users, "writes": writes}

    def user_plan(self, run_id: str) -> Plan:
        """Users reading (and writing, where the target file lists write endpoints), nothing else: the SPOF
        sweep's observation."""
        return Plan(paths=self._paths(), signals={}, signal_interval_s=SIGNAL_INTERVAL_S,
                    path_concurrency=USER_CONCURRENCY, abort_floor=self.target.safety.availability_floor_percent / 100,
                    abort_after_s=self.target.safety.availability_limit_s)

    def standby_security(self) -> StandbySecurity | None:
        """The security layer's probe (``inventory.security``: decrypt with the replica keys and read the replica
        secrets in the DR region), its canary encrypted now, before any fault; None without keys or secrets."""
        inventory, dr = self.target.inventory, self.target.dr_region
        if dr is None or not (inventory.kms_keys or inventory.secrets):
            return None
        security = StandbySecurity(self.clients, self.target.primary_region, dr, inventory.kms_keys, inventory.secrets)
        try:
            security.prepare()
        except CloudApiError as exc:
            raise TargetError(f"target {self.target.name}: inventory.security: cannot encrypt the security canary "
                              f"in {self.target.primary_region}: {exc}") from exc
        return security

    def recovered(self, scenario: str, options: dict[str, Any] | None = None,
                  baseline: SignalBaseline | None = None) -> bool:
        """Users are served and a failover signal reports the fault; with a GitOps canary, gitops
        also waits until the platform serves the revision the canary's branch asks for.

        Alarms count from, and Lease holders are compared with, ``baseline`` (the run's monitoring
        read it before the fault): a takeover before this is first called counts. Without one, the
        baseline is read at this driver's first call.
        A signal or served revision that cannot be read counts as not reporting.
        """
        _refuse_options(options)
        if scenario not in self._failover:
            baseline = baseline if baseline is not None else self._baseline(scenario)
            readers = self._signals(scenario, baseline)
            self._failover[scenario] = {n: r for n, r in readers.items() if n in FAILOVER_SIGNALS} or readers
        detected = False
        for read in self._failover[scenario].values():
            try:
                detected = detected or bool(read()["detected"])
            except ZerospofError:
                continue
        return detected and self.serving() and self._canary_deployed(scenario)

    def _canary_deployed(self, scenario: str) -> bool:
        if scenario != "gitops" or self.target.gitops_canary is None:
            return True
        try:
            return self._served_revision().deployed()
        except (ZerospofError, *_REQUEST_ERRORS):
            return False

    # -- canaries -------------------------------------------------------------------------------
    def _canary(self, run_id: str) -> PostgresCanary | None:
        canary = self.target.data_canary
        if canary is None:
            return None
        dsn = os.environ.get(canary.postgres_dsn_env)
        if not dsn:
            raise TargetError(f"{canary.postgres_dsn_env} is not set (the data canary's PostgreSQL DSN is read from it)")
        return PostgresCanary(dsn, canary.postgres_table, run_id)

    def _git_rpo_canary(self, run_id: str) -> GitRpoCanary | None:
        canary = self.target.gitops_canary
        return GitRpoCanary(canary, run_id) if canary is not None and canary.rpo_branch is not None else None

    def read_back(self, run_id: str) -> list[int]:
        """Return the sequence numbers of the run's canary writes present where the platform reads now.

        GitOps runs: the RPO canary's commits on the remote's ``gitops.canary.rpo_branch``. Other runs:
        the data canary's rows on the database's current primary. A run writes only one of the two
        kinds, so the first source holding any of the run's writes is the run's; when none holds any,
        [] (everything acknowledged was lost, or nothing was) once every configured source was read.
        TargetError when the target file configures neither, or a source that could not be read
        leaves the answer open (RPO is then not measured, never 0).
        """
        sources: list[Callable[[], list[int]]] = []
        git_canary = self._git_rpo_canary(run_id)
        if git_canary is not None:
            sources.append(git_canary.read_back)
        if self.target.data_canary is not None:
            sources.append(lambda: self._database_read_back(run_id))
        if not sources:
            raise TargetError(f"target {self.target.name} ({self.target.path}) has no data_canary (the database RPO "
                              "canary) and no gitops.canary.rpo_branch (the GitOps RPO canary): RPO cannot be measured")
        unread: list[TargetError] = []
        for read in sources:
            try:
                present = read()
            except TargetError as exc:
                unread.append(exc)
                continue
            if present:
                return present
        if unread:
            raise TargetError("; ".join(str(exc) for exc in unread)) from unread[0]
        return []

    def _database_read_back(self, run_id: str) -> list[int]:
        canary = self._canary(run_id)
        assert canary is not None, "only called with a data_canary"
        return canary.read_back()

    def commit_canary(self, run_id: str) -> str:
        """Push a new revision into the ``gitops.canary`` file (fast-forward only); return it once acknowledged.

        Not idempotent: every call adds a commit. TargetError when the target file has no
        ``gitops.canary`` (deployment delay and the delivery RTO are then not measured).
        """
        canary = self.target.gitops_canary
        if canary is None:
            raise TargetError(f"the AWS target {self.target.name} ({self.target.path}) has no gitops.canary: "
                              "deployment delay and the delivery RTO cannot be measured on it")
        return GitCanary(canary).commit(run_id).revision

    def _served_revision(self) -> ServedRevision:
        if self._served is None:
            canary = self.target.gitops_canary
            assert canary is not None, "only called with a gitops.canary"
            kube = self._kube(self.target.cluster(canary.application.cluster)) if canary.application else None
            if kube is not None:
                kube.custom  # noqa: B018 - build the client here, not in a sampler thread
            self._served = ServedRevision(canary, kube, connect_timeout_s=CONNECT_TIMEOUT_S, timeout_s=REQUEST_TIMEOUT_S)
        return self._served

    # -- signal readers -------------------------------------------------------------------------
    def _watched_leases(self, scenario: str) -> tuple[Cluster, list[tuple[str, str]]] | None:
        """The cluster and the ``(namespace, name)`` Leases whose holder change is ``scenario``'s lease signal."""
        target = self.target
        if scenario == "control-plane" and target.control_plane is not None:
            cluster = target.cluster(target.control_plane.cluster)
            leases = [(namespace, name) for name_of_cluster, namespace, name in target.detection.leases
                      if name_of_cluster == cluster.name]
            return (cluster, leases) if leases else None
        if scenario == "gitops" and target.gitops is not None:
            controller = target.controller(target.gitops.controller)
            lease = controller.leader_lease
            return (target.cluster(controller.cluster), [(lease["namespace"], lease["name"])]) if lease else None
        return None

    def _baseline(self, scenario: str) -> SignalBaseline:
        """Read now what ``scenario``'s signals compare with: the watched Leases' holders."""
        watched = self._watched_leases(scenario)
        holders: dict[tuple[str, str], str | None] = {}
        if watched is not None:
            kube = self._kube(watched[0])
            holders = {(namespace, name): k8s_probes.lease_holder(kube, namespace, name)["holder"]
                       for namespace, name in watched[1]}
        return SignalBaseline(since_wall=time.time(), lease_holders=holders)

    def _signals(self, scenario: str, baseline: SignalBaseline) -> dict[str, Reader]:
        """The scenario's detection signals (see the module docstring); clients are built here, not in samplers."""
        target, detection = self.target, self.target.detection
        readers: dict[str, Reader] = {}
        if scenario == "az-failure" and detection.alb_target_groups and target.az_failure is not None:
            readers["signal:alb-target-health"] = self._alb(target.az_failure.availability_zone)
        elif scenario == "region-failure":
            if detection.route53_health_check_ids:
                readers["signal:route53-health-check"] = self._route53()
            if detection.cloudwatch_alarms:
                readers["signal:cloudwatch-alarm"] = self._alarms(baseline.since_wall)
        elif scenario == "control-plane" and target.control_plane is not None:
            readers["signal:node-ready"] = self._nodes([target.cluster(target.control_plane.cluster)])
        elif scenario == "gitops" and target.gitops is not None and target.argo_applications:
            readers["signal:argocd-application"] = self._argo()
        watched = self._watched_leases(scenario)
        if watched is not None:
            readers["signal:lease-holder"] = self._leases(watched[0], baseline.lease_holders)
        return readers

    def _steady_signals(self) -> dict[str, Reader]:
        """Every absolute signal of the target, over all its resources (Lease changes need a baseline)."""
        detection = self.target.detection
        readers: dict[str, Reader] = {}
        if detection.alb_target_groups:
            readers["alb-target-health"] = self._alb(None)
        if detection.route53_health_check_ids:
            readers["route53-health-check"] = self._route53()
        if detection.cloudwatch_alarms:
            readers["cloudwatch-alarm"] = self._alarms(0.0)
        if self.target.clusters:
            readers["node-ready"] = self._nodes(list(self.target.clusters))
        if self.target.argo_applications:
            readers["argocd-application"] = self._argo()
        return readers

    def _kube(self, cluster: Cluster) -> KubeClients:
        if cluster.name not in self._kube_clients:
            self._kube_clients[cluster.name] = KubeClients(cluster.context, self.target.allowed_contexts, cluster.kubeconfig)
        return self._kube_clients[cluster.name]

    def _alb(self, zone: str | None) -> Reader:
        groups = self.target.detection.alb_target_groups
        for region, _ in groups:
            self.clients.client("elbv2", region)

        def read() -> dict[str, Any]:
            views = {arn: alb_target_health(self.clients, region, arn, zone) for region, arn in groups}
            return {"target_groups": views, "detected": any(view["detected"] for view in views.values())}
        return read

    def _route53(self) -> Reader:
        source = Route53HealthChecks(self.clients.client("route53", "us-east-1"))  # a global service
        checks = self.target.detection.route53_health_check_ids

        def read() -> dict[str, Any]:
            views = {check: route53_health_check(source, check) for check in checks}
            return {"health_checks": views, "detected": any(view["detected"] for view in views.values())}
        return read

    def _alarms(self, since_wall: float) -> Reader:
        alarms = self.target.detection.cloudwatch_alarms
        for region, _ in alarms:
            self.clients.client("cloudwatch", region)

        def read() -> dict[str, Any]:
            views = {name: cloudwatch_alarm(self.clients, region, name, since_wall) for region, name in alarms}
            return {"alarms": views, "detected": any(view["detected"] for view in views.values())}
        return read

    def _nodes(self, clusters: list[Cluster]) -> Reader:
        kubes = {cluster.name: (self._kube(cluster), cluster.node_label_selector) for cluster in clusters}
        for kube, _ in kubes.values():
            kube.core  # noqa: B018 - build the client here, not in a sampler thread

        def read() -> dict[str, Any]:
            views = {name: k8s_probes.node_readiness(kube, selector) for name, (kube, selector) in kubes.items()}
            return {"clusters": views, "detected": any(view["detected"] for view in views.values())}
        return read

    def _leases(self, cluster: Cluster, holders: Mapping[tuple[str, str], str | None]) -> Reader:
        """Detected when a Lease's holder differs from its baseline holder (in ``holders``)."""
        kube = self._kube(cluster)
        kube.coordination  # noqa: B018 - build the client here, not in a sampler thread

        def read() -> dict[str, Any]:
            views = {f"{namespace}/{name}": k8s_probes.lease_holder(kube, namespace, name, holder)
                     for (namespace, name), holder in holders.items()}
            return {"cluster": cluster.name, "leases": views,
                    "detected": any(view["detected"] for view in views.values())}
        return read

    def _argo(self) -> Reader:
        apps = [(self._kube(self.target.cluster(app.cluster)), app) for app in self.target.argo_applications]
        for kube, _ in apps:
            kube.custom  # noqa: B018 - build the client here, not in a sampler thread

        def read() -> dict[str, Any]:
            views = {f"{app.cluster}/{app.namespace}/{app.name}": k8s_probes.argocd_application(kube, app.namespace, app.name)
                     for kube, app in apps}
            return {"applications": views, "detected": any(view["detected"] for view in views.values())}
        return read
