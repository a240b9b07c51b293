"""The four scenarios as types, what a target supplies for one, and how its timeline becomes a report.

A :class:`Scenario` says what is failed over (its layers) and what is measured; a target's
driver supplies only a :class:`Plan`: its readers (user paths, detection and layer signals,
canaries) and limits. :func:`build_monitoring` assembles the samplers from a plan once, for
every target; :func:`measure_scenario` and :func:`judge_scenario` know nothing of lab or AWS.

Probe names are shared by every target: ``availability`` (the read path: user-facing HTTP
through DNS + LB), ``writes`` (the write path: user writes through DNS + LB to the app and the
data primary), ``signal:*`` (the platform's own detection signals, value ``{"detected": bool,
...}``), ``write-canary`` (acknowledged canary writes, value ``{"seq": n}``) and
``served-revision`` (GitOps: the revision the platform serves).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from zerospof import measure
from zerospof.errors import ZerospofError
from zerospof.faults import Fault
from zerospof.measure import Measurement
from zerospof.monitors import Sampler
from zerospof.objectives import USER_PATHS, Objectives, ScenarioObjectives
from zerospof.timeline import EventKind, Timeline
from zerospof.verdict import Comparison, Objective, Verdict, judge

__all__ = [
    "AVAILABILITY",
    "WRITES",
    "WRITE_CANARY",
    "SERVED_REVISION",
    "SECURITY_REPLICA",
    "PATH_PROBES",
    "OBSERVER",
    "Layer",
    "Scenario",
    "SCENARIOS",
    "Plan",
    "Reader",
    "Driver",
    "PlannedDriver",
    "HealthFromReadiness",
    "Monitoring",
    "build_monitoring",
    "measure_scenario",
    "judge_scenario",
    "objective_names",
    "observer_stalled",
    "users_served_since",
]

AVAILABILITY = "availability"  # the read path's probe (its historical name)
WRITES = "writes"
WRITE_CANARY = "write-canary"
SERVED_REVISION = "served-revision"
SECURITY_REPLICA = "security-replica"  # the security layer's probe: {"refreshed_at": {member: epoch s | None}}
CONTROL_PLANE_API = "control-plane-api"
PATH_PROBES = {"reads": AVAILABILITY, "writes": WRITES}  # user path -> probe
OBSERVER = "observer-heartbeat"  # the harness's own heartbeat: its gaps are time nothing was observed
OBSERVER_INTERVAL_S = 0.1
MAX_OBSERVATION_S = 4 * 3600.0  # a sampler's own bound when the run sets none (FIS's longest scenario: 3 h)

Reader = Callable[[], Any]


class Layer(StrEnum):
    """A row of the seed's components table (``components:`` in ``objectives.yaml``)."""

    LOAD_BALANCERS = "load-balancers"
    CONTROL_PLANE = "eks-control-plane"
    DATA_PLANE = "data-plane"
    GITOPS = "gitops"
    DNS = "dns"
    OVERALL = "overall-system"
    SECURITY = "security"  # KMS + Secrets Manager: the standby region decrypts with its replica


@dataclass(frozen=True)
class Scenario:
    """One failover scenario: the layers it fails over, judged against the components table.

    ``delivery``: the scenario's RTO is the delivery pipeline's (GitOps: t0 until a change
    committed after t0 is served), and deployment delay is measured.
    """

    id: str
    layers: tuple[Layer, ...]
    delivery: bool = False


SCENARIOS: dict[str, Scenario] = {scenario.id: scenario for scenario in (
    Scenario("az-failure", (Layer.LOAD_BALANCERS, Layer.DNS, Layer.DATA_PLANE, Layer.OVERALL)),
    Scenario("region-failure", (Layer.LOAD_BALANCERS, Layer.DNS, Layer.DATA_PLANE, Layer.SECURITY, Layer.OVERALL)),
    Scenario("control-plane", (Layer.CONTROL_PLANE, Layer.OVERALL)),
    Scenario("gitops", (Layer.GITOPS, Layer.OVERALL), delivery=True),
)}


@dataclass
class Plan:
    """What a target supplies for one scenario run: readers, not samplers.

    ``paths``: user path -> reader, or the reason the target cannot exercise it ("not measured").
    ``signals``: detection-signal probe -> reader (value ``{"detected": bool, ...}``).
    ``layer_signals``: layer -> (probe, key): the layer has recovered at the first sample whose value
    has ``key`` true (e.g. every DNS provider answers without the lost endpoints); for the security
    layer, when every member of ``value[key]`` renewed after t0.
    ``extra``: further samplers (name -> (reader, interval_s, concurrency)), e.g. the RPO canary,
    the served revision or API writes. ``rpo_probe``: the canary the RPO is read from.
    ``component_logs``: reads, after the fault, what the target's components recorded around t0 (epoch s), a
    :class:`~zerospof.component_logs.CollectedLogs` (each source's lines or why it could not be read); the lab's
    logs are files read when the report is written, so it has none.
    ``signal_interval_s``: how often signals are read. ``max_observation_s``: every sampler
    stops by itself after this, should the run never stop it (a ``chaos run`` sets its own:
    ``zerospof_max_observation``). ``path_concurrency``: open-loop users per path.
    """

    paths: dict[str, Reader | str]
    signals: dict[str, Reader]
    signal_interval_s: float
    max_observation_s: float = MAX_OBSERVATION_S
    layer_signals: dict[Layer, tuple[str, str]] = field(default_factory=dict)
    extra: dict[str, tuple[Reader, float, int]] = field(default_factory=dict)
    rpo_probe: str | None = None
    path_concurrency: int = 32
    stop_hooks: list[Callable[[], None]] = field(default_factory=list)
    abort_floor: float | None = None
    abort_after_s: float | None = None
    baseline: Any = None
    component_logs: Callable[[float], Any] | None = None


@dataclass
class Monitoring:
    """The samplers a scenario runs (built, not started) and what measurement needs to know of them.

    ``abort_floor`` / ``abort_after_s``: the target's own abort guard limits (availability ratio,
    seconds), when it has any; the stricter of these and the experiment's apply. ``baseline``: what
    the driver read before the fault (e.g. lease holders), handed back to its ``recovered``.
    ``unmeasured_paths``: user path -> why the target cannot exercise it.
    """

    samplers: list[Sampler]
    signal_probes: list[str]
    stop_hooks: list[Callable[[], None]] = field(default_factory=list)
    abort_floor: float | None = None
    abort_after_s: float | None = None
    baseline: Any = None
    unmeasured_paths: dict[str, str] = field(default_factory=dict)
    layer_signals: dict[Layer, tuple[str, str]] = field(default_factory=dict)
    rpo_probe: str | None = None
    component_logs: Callable[[float], Any] | None = None


def build_monitoring(plan: Plan, timeline: Timeline, objectives: Objectives) -> Monitoring:
    """Assemble the samplers of ``plan`` (not started): user paths at the objectives' rates, signals, extras,
    and the observer's heartbeat (:data:`OBSERVER`: its gaps say when the harness itself was not running)."""
    rates = {"reads": objectives.availability_rate_hz, "writes": objectives.write_rate_hz}

    def sampler(name: str, reader: Reader, interval_s: float, concurrency: int) -> Sampler:
        return Sampler(name, reader, timeline, interval_s=interval_s, max_duration_s=plan.max_observation_s,
                       concurrency=concurrency)
    samplers = [sampler(PATH_PROBES[path], reader, 1 / rates[path], plan.path_concurrency)
                for path, reader in plan.paths.items() if callable(reader)]
    samplers += [sampler(name, reader, plan.signal_interval_s, 1) for name, reader in plan.signals.items()]
    samplers += [sampler(name, reader, interval_s, concurrency)
                 for name, (reader, interval_s, concurrency) in plan.extra.items()]
    samplers.append(sampler(OBSERVER, _heartbeat, OBSERVER_INTERVAL_S, 1))
    return Monitoring(samplers, list(plan.signals), plan.stop_hooks, plan.abort_floor, plan.abort_after_s,
                      plan.baseline, {path: reason for path, reason in plan.paths.items() if isinstance(reason, str)},
                      dict(plan.layer_signals), plan.rpo_probe, plan.component_logs)


def _heartbeat() -> None:
    """The observer's heartbeat: does nothing, so only a harness that is not running delays it."""


class HealthFromReadiness:
    """``healthy()`` for a driver whose ``check_ready()`` raises when something is not healthy."""

    def check_ready(self) -> None:
        raise NotImplementedError

    def healthy(self) -> bool:
        try:
            self.check_ready()
        except ZerospofError:
            return False
        return True


class PlannedDriver(HealthFromReadiness):
    """A driver that supplies a :class:`Plan`; the samplers are assembled by :func:`build_monitoring`."""

    def plan(self, scenario: str, run_id: str, options: dict[str, Any] | None = None) -> Plan:
        raise NotImplementedError

    def monitoring(self, scenario: str, timeline: Timeline, objectives: Objectives, run_id: str,
                   options: dict[str, Any] | None = None) -> Monitoring:
        """Build the samplers of ``scenario`` (``options``: the fault's); canaries tag records with ``run_id``."""
        return build_monitoring(self.plan(scenario, run_id, options), timeline, objectives)


class Driver(Protocol):
    """A target kind's side of a scenario: faults, monitors, recovery and canary read-back."""

    def check_ready(self) -> None:
        """Raise unless the target is ready for a scenario (all components healthy)."""

    def fault(self, scenario: str, options: dict[str, Any]) -> Fault:
        """Build (do not apply) the scenario's fault."""

    def monitoring(self, scenario: str, timeline: Timeline, objectives: Objectives, run_id: str,
                   options: dict[str, Any] | None = None) -> Monitoring:
        """Build the samplers of ``scenario`` (``options``: the fault's); the write canary tags records with ``run_id``."""

    def serving(self) -> bool:
        """Return whether users are served right now (a few requests through the real DNS + LB path)."""

    def recovered(self, scenario: str, options: dict[str, Any] | None = None, baseline: Any = None) -> bool:
        """Return whether the target's own view says failover from the fault (``options``) has finished.

        ``baseline``: the run's ``Monitoring.baseline`` (read before the fault), when the run has one.
        """

    def read_back(self, run_id: str) -> list[int]:
        """Return the sequence numbers of the run's canary writes present on the current primary."""

    def commit_canary(self, run_id: str) -> str:
        """Commit a new desired revision to the GitOps source; return the revision."""

    def healthy(self) -> bool:
        """Return whether every component is healthy (after revert, the target healed)."""

    def restore(self) -> bool:
        """Bring a healed target back to its reference state (e.g. fail back); True once there. Idempotent."""


# -- measurement -------------------------------------------------------------------------------
def measure_scenario(timeline: Timeline, signal_probes: list[str], sustained_s: float,
                     delivery: bool = False, data_loss: bool = False, slow_s: float | None = None,
                     rpo_probe: str | None = None, unmeasured_paths: dict[str, str] | None = None,
                     ) -> dict[str, Measurement]:
    """Every measurement a scenario's timeline supports, keyed by measurement name.

    Per user path (``reads.*``, ``writes.*``): downtime (counted from the start of the
    injection), failed and slow requests, availability over the window, RTO (from t0), latency
    p50/p95/p99 before / during / after the fault. A success slower than ``slow_s`` counts as a
    failure. A path without samples is not measured (None, with ``unmeasured_paths``' reason).
    The headline ``downtime_s``, ``rto_s``, ``failed_requests`` and ``slow_requests`` are the
    worst measured path's (``detail["path"]``; ``detail["paths_not_measured"]`` names the rest).

    RPO (from ``rpo_probe``, default ``write-canary``) is included when that canary ran or
    ``data_loss`` (the objectives name an RPO: then None with the reason when it did not run).
    For a delivery scenario (``delivery``: GitOps) or when a GitOps canary committed, deployment
    delay is included and ``rto_s`` is the delivery pipeline's (t0 until a change committed after
    t0 is served; users may never see a failure) while the users' worst RTO moves to
    ``user_rto_s``. Without a canary commit both are None with the reason: a user-facing RTO of 0
    never stands in.
    """
    unmeasured = dict(unmeasured_paths or {})
    fail_back = timeline.first_event(EventKind.FAIL_BACK)
    reverted = timeline.first_event(EventKind.FAULT_REVERTING)
    whole = timeline
    if fail_back is not None:  # the fault's figures end where zerospof began restoring the reference state
        timeline = timeline.until(fail_back.t_mono)
    found: dict[str, Measurement] = {"detection_s": measure.detection_s(timeline, signal_probes)}
    measured_paths = []
    for path, probe in PATH_PROBES.items():
        if not timeline.samples_of(probe):
            unmeasured.setdefault(path, f"no {probe!r} sample: the target did not exercise the {path} path")
            for name in ("downtime_s", "failed_requests", "slow_requests", "availability", "rto_s"):
                found[f"{path}.{name}"] = Measurement(f"{path}.{name}", None, "s" if name.endswith("_s") else
                                                      ("ratio" if name == "availability" else "requests"), None,
                                                      {"reason": f"not measured: {unmeasured[path]}", "path": path})
            continue
        measured_paths.append(path)
        per_path = measure.downtime(timeline, probe, observation_window(timeline, probe), slow_s)
        per_path["rto_s"] = measure.rto(timeline, probe, sustained_s=sustained_s, slow_s=slow_s,
                                        reverted=reverted.t_mono if reverted is not None else None)
        per_path.update(measure.latency(timeline, probe))
        if fail_back is not None:  # shown apart: users felt it, but it is the restore's, not the fault's
            last = whole.samples_of(probe)[-1].t_mono
            per_path["fail_back_downtime_s"] = _renamed(measure.downtime(
                whole, probe, (fail_back.t_mono, max(last, fail_back.t_mono)), slow_s)["downtime_s"],
                "fail_back_downtime_s")
        found.update({f"{path}.{name}": _renamed(m, f"{path}.{name}") for name, m in per_path.items()})
    for name in ("downtime_s", "rto_s", "failed_requests", "slow_requests"):
        found[name] = _worst(found, name, measured_paths, unmeasured)
    probe = rpo_probe or WRITE_CANARY
    if data_loss or timeline.samples_of(probe):
        found.update(measure.rpo(timeline, probe))
    if delivery or any(event.kind == EventKind.CANARY_COMMIT for event in timeline.events):
        found["deployment_delay_s"] = measure.deployment_delay_s(timeline, SERVED_REVISION)
        found["user_rto_s"] = _renamed(found["rto_s"], "user_rto_s")
        found["rto_s"] = measure.delivery_rto_s(timeline, SERVED_REVISION)
    return found


def _renamed(measurement: Measurement, name: str) -> Measurement:
    return Measurement(name, measurement.value, measurement.unit, measurement.resolution_s, measurement.detail)


def _worst(found: dict[str, Measurement], name: str, paths: list[str], unmeasured: dict[str, str]) -> Measurement:
    """The worst path's figure (None wins: a path not recovered is worse than any number)."""
    candidates = [found[f"{path}.{name}"] for path in paths]
    if not candidates:
        return Measurement(name, None, "s" if name.endswith("_s") else "requests", None,
                           {"reason": "no user path was measured", "paths_not_measured": unmeasured})
    missing = [(path, m) for path, m in zip(paths, candidates) if m.value is None]
    path, worst = missing[0] if missing else max(zip(paths, candidates), key=lambda item: item[1].value)
    return Measurement(name, worst.value, worst.unit, worst.resolution_s,
                       {**worst.detail, "path": path, "paths_measured": paths, "paths_not_measured": unmeasured})


def observation_window(timeline: Timeline, probe: str = AVAILABILITY) -> tuple[float, float] | None:
    """From the start of the injection (failures while the fault is being verified count) to the last sample."""
    started = timeline.first_event(EventKind.FAULT_INJECTING) or timeline.first_event(EventKind.FAULT_VERIFIED)
    samples = timeline.samples_of(probe)
    if started is None or not samples:
        return None
    return (started.t_mono, max(samples[-1].t_mono, started.t_mono))


def users_served_since(timeline: Timeline, slow_s: float | None, since: float) -> float:
    """From when every user path has been served: the time of its last bad request (failed or slower than
    ``slow_s``) sent at or after ``since``, or ``since`` when none was bad."""
    bad = [s.t_mono for probe in PATH_PROBES.values() for s in timeline.samples_of(probe, since=since)
           if not measure.good(s, slow_s)]
    return max(bad, default=since)


def observer_stalled(timeline: Timeline, objectives: Objectives) -> Measurement:
    """How long the harness was not running while the run's figures were taken (from the injection to the
    fail-back, or the end): gaps of its heartbeat as long as the slow-request limit, which alone can make
    a request look slow or failed."""
    started = timeline.first_event(EventKind.FAULT_INJECTING) or timeline.first_event(EventKind.FAULT_VERIFIED)
    beats = timeline.samples_of(OBSERVER)
    fail_back = timeline.first_event(EventKind.FAIL_BACK)
    end = fail_back.t_mono if fail_back is not None else (beats[-1].t_mono if beats else None)
    window = None if started is None or end is None else (started.t_mono, max(started.t_mono, end))
    return measure.observer_stalls(timeline, OBSERVER, window, objectives.slow_request_s)


def rto_phases(timeline: Timeline, signal_probes: list[str], sustained_s: float, slow_s: float | None = None,
               probe: str = AVAILABILITY) -> dict[str, float | None]:
    """Detect -> fail over -> recovered, as offsets from t0, on one user path's probe."""
    return measure.rto_phases(timeline, probe, signal_probes, sustained_s=sustained_s, slow_s=slow_s)


# -- layers ------------------------------------------------------------------------------------
def layer_measurements(scenario: Scenario, timeline: Timeline, found: dict[str, Measurement],
                       layer_signals: dict[Layer, tuple[str, str]], sustained_s: float,
                       objectives: Objectives) -> dict[str, Measurement]:
    """Each layer ``scenario`` fails over, measured from its own signal: ``<layer>.rto_s``,
    ``<layer>.rpo_s`` (where the layer holds data and a canary ran) and ``<layer>.budget_consumed``.

    Load balancers: their signal says the dead backends are out of rotation (when the target reads
    one) and the read path is served (its RTO); DNS: every provider answers without the lost
    endpoints; data plane: the write path's RTO and the RPO; control plane: API writes succeed again;
    GitOps: the delivery RTO and the git RPO; overall system: the worst user path. Error budget:
    the layer's path downtime against the layer's availability objective over 30 days.
    """
    out: dict[str, Measurement] = {}
    for layer in scenario.layers:
        rto, downtime = _layer_rto_and_downtime(layer, timeline, found, layer_signals, sustained_s)
        out[f"{layer}.rto_s"] = _renamed(rto, f"{layer}.rto_s")
        if _judges_rpo(scenario, layer) and "rpo_s" in found:
            out[f"{layer}.rpo_s"] = _renamed(found["rpo_s"], f"{layer}.rpo_s")
        component = objectives.component(layer)
        if component is not None:
            budget = measure.error_budget(downtime, component.availability_pct, f"{layer}.budget_consumed")
            budget.detail.update(path_downtime=downtime.name)
            out[f"{layer}.budget_consumed"] = budget
    return out


def _judges_rpo(scenario: Scenario, layer: Layer) -> bool:
    """A layer holding data has an RPO (the overall system's is its data plane's)."""
    return layer in (Layer.DATA_PLANE, Layer.GITOPS) or (layer is Layer.OVERALL and Layer.DATA_PLANE in scenario.layers)


def _layer_rto_and_downtime(layer: Layer, timeline: Timeline, found: dict[str, Measurement],
                            layer_signals: dict[Layer, tuple[str, str]], sustained_s: float) -> tuple[Measurement, Measurement]:
    if layer is Layer.DATA_PLANE:
        return found["writes.rto_s"], found["writes.downtime_s"]
    if layer is Layer.GITOPS:
        return found["rto_s"], found["rto_s"]  # the delivery pipeline was down until a new change was served
    if layer is Layer.OVERALL:
        return found.get("user_rto_s", found["rto_s"]), found["downtime_s"]
    if layer is Layer.CONTROL_PLANE:
        if not timeline.samples_of(CONTROL_PLANE_API):
            reason = "no API write sampler on this target: the control plane's own recovery was not observed"
            missing = Measurement("rto_s", None, "s", None, {"reason": reason})
            return missing, Measurement("downtime_s", None, "s", None, {"reason": reason})
        api = measure.downtime(timeline, CONTROL_PLANE_API, observation_window(timeline, CONTROL_PLANE_API))
        return measure.rto(timeline, CONTROL_PLANE_API, sustained_s=sustained_s), api["downtime_s"]
    reads_rto, reads_down = found["reads.rto_s"], found["reads.downtime_s"]
    signal = layer_signals.get(layer)
    if signal is None:
        if layer in (Layer.DNS, Layer.SECURITY):
            return (Measurement("rto_s", None, "s", None, {"reason": f"the target reads no {layer} signal"}),
                    reads_down)
        return _annotated(reads_rto, "the read path's RTO (the target reads no signal of its own for this layer)"), reads_down
    if layer is Layer.SECURITY:  # every survivor decrypted again after t0; users need the credential for every
        return measure.all_renewed_s(timeline, signal[0], "rto_s", signal[1]), found["downtime_s"]  # DB call
    reached = measure.signal_reached_s(timeline, signal[0], signal[1], "rto_s")
    if layer is Layer.DNS:
        return reached, reads_down
    if reached.value is None or reads_rto.value is None:
        return (reached if reached.value is None else reads_rto), reads_down
    later = max((reached, reads_rto), key=lambda m: m.value)
    return _annotated(later, f"the later of {signal[0]} {signal[1]} ({reached.value:.2f}s) and the read path's "
                      f"RTO ({reads_rto.value:.2f}s)"), reads_down


def _annotated(measurement: Measurement, how: str) -> Measurement:
    return Measurement(measurement.name, measurement.value, measurement.unit, measurement.resolution_s,
                       {**measurement.detail, "how": how})


# -- judging -----------------------------------------------------------------------------------
PER_PATH = ("downtime_s", "rto_s")


def scenario_objectives(scenario: Scenario, limits: ScenarioObjectives, objectives: Objectives,
                        paths: tuple[str, ...]) -> list[Objective]:
    """The scenario table's limits (unscoped downtime / RTO once per measured user path; a delivery
    scenario's RTO is the pipeline's) plus each layer's row of the components table."""
    per_path = ("downtime_s",) if scenario.delivery else PER_PATH
    found = limits.objectives(paths, per_path)
    for layer in scenario.layers:
        component = objectives.component(layer)
        if component is None:
            continue
        found.append(Objective(f"{layer}.rto_s", component.rto.value_s, component.rto.comparison, unit="s"))
        if _judges_rpo(scenario, layer):
            found.append(Objective(f"{layer}.rpo_s", component.rpo.value_s, component.rpo.comparison, unit="s"))
        found.append(Objective(f"{layer}.budget_consumed", 1.0, Comparison.LT, unit="ratio"))
    return found


def objective_names(objectives: Objectives, scenario_id: str) -> list[str]:
    """The names of every check a run of ``scenario_id`` is judged by, all user paths measured (for the gate)."""
    scenario = SCENARIOS[scenario_id]
    return [o.name for o in scenario_objectives(scenario, objectives.scenario(scenario_id), objectives, USER_PATHS)]


def judge_scenario(scenario_id: str, timeline: Timeline, objectives: Objectives,
                   monitoring: Monitoring) -> tuple[dict[str, Measurement], Verdict]:
    """Measure ``timeline`` (scenario figures, every user path, every layer) and judge it."""
    scenario = SCENARIOS[scenario_id]
    limits = objectives.scenario(scenario_id)
    data_loss = limits.names("rpo_s") or Layer.DATA_PLANE in scenario.layers
    found = measure_scenario(timeline, monitoring.signal_probes, objectives.sustained_success_s,
                             delivery=scenario.delivery or limits.names("deployment_delay_s"), data_loss=data_loss,
                             slow_s=objectives.slow_request_s, rpo_probe=monitoring.rpo_probe,
                             unmeasured_paths=monitoring.unmeasured_paths)
    found.update(layer_measurements(scenario, timeline, found, monitoring.layer_signals,
                                    objectives.sustained_success_s, objectives))
    measured = tuple(path for path in USER_PATHS if path not in monitoring.unmeasured_paths
                     and timeline.samples_of(PATH_PROBES[path]))
    objectives_list = scenario_objectives(scenario, limits, objectives, measured)
    return found, judge(found, objectives_list)
