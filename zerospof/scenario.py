"""What a scenario run needs from a target, and how its timeline becomes measurements.

Probe names are shared by every target, so measurement never depends on the target:
``availability`` (user-facing HTTP through DNS + LB), ``signal:*`` (the platform's own
detection signals, value ``{"detected": bool, ...}``), ``write-canary`` (acknowledged writes,
value ``{"seq": n}``) and ``served-revision`` (GitOps: the revision the platform serves).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from zerospof import measure
from zerospof.errors import ZerospofError
from zerospof.faults import Fault
from zerospof.measure import Measurement
from zerospof.monitors import Sampler
from zerospof.objectives import Objectives
from zerospof.timeline import EventKind, Timeline

__all__ = [
    "AVAILABILITY",
    "WRITE_CANARY",
    "SERVED_REVISION",
    "Driver",
    "HealthFromReadiness",
    "Monitoring",
    "measure_scenario",
]

AVAILABILITY = "availability"
WRITE_CANARY = "write-canary"
SERVED_REVISION = "served-revision"


@dataclass
class Monitoring:
    """The samplers a scenario runs (built, not started) and the detection-signal probe names.

    ``abort_floor`` / ``abort_after_s``: the target's own abort guard limits (availability ratio,
    seconds), when it has any; the stricter of these and the experiment's apply. ``baseline``: what
    the driver read before the fault (e.g. lease holders), handed back to its ``recovered``.
    """

    samplers: list[Sampler]
    signal_probes: list[str]
    stop_hooks: list[Callable[[], None]] = field(default_factory=list)
    abort_floor: float | None = None
    abort_after_s: float | None = None
    baseline: Any = None


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


def measure_scenario(timeline: Timeline, signal_probes: list[str], sustained_s: float,
                     delivery: bool = False, data_loss: bool = False) -> dict[str, Measurement]:
    """Every measurement a scenario's timeline supports, keyed by measurement name.

    Downtime counts from the start of the injection; detection and RTO count from t0.

    RPO is included when the write canary ran or ``data_loss`` (the objectives name an RPO: then
    None with the reason when it did not run). For a delivery scenario (``delivery``: GitOps, whose
    objectives name a deployment delay) or when a GitOps canary committed, deployment delay is
    included and ``rto_s`` is the delivery pipeline's (t0 until a change committed after t0 is
    served; users may never see a failure) while the user-facing RTO moves to ``user_rto_s``.
    Without a canary commit both are None with the reason: a user-facing RTO of 0 never stands in.
    """
    found: dict[str, Measurement] = {"detection_s": measure.detection_s(timeline, signal_probes)}
    found.update(measure.downtime(timeline, AVAILABILITY, observation_window(timeline)))
    found["rto_s"] = measure.rto(timeline, AVAILABILITY, sustained_s=sustained_s)
    if data_loss or timeline.samples_of(WRITE_CANARY):
        found.update(measure.rpo(timeline, WRITE_CANARY))
    if delivery or any(event.kind == EventKind.CANARY_COMMIT for event in timeline.events):
        found["deployment_delay_s"] = measure.deployment_delay_s(timeline, SERVED_REVISION)
        found["user_rto_s"] = found["rto_s"]
        found["rto_s"] = measure.delivery_rto_s(timeline, SERVED_REVISION)
    return found


def observation_window(timeline: Timeline) -> tuple[float, float] | None:
    """From the start of the injection (failures while the fault is being verified count) to the last sample."""
    started = timeline.first_event(EventKind.FAULT_INJECTING) or timeline.first_event(EventKind.FAULT_VERIFIED)
    samples = timeline.samples_of(AVAILABILITY)
    if started is None or not samples:
        return None
    return (started.t_mono, max(samples[-1].t_mono, started.t_mono))


def rto_phases(timeline: Timeline, signal_probes: list[str], sustained_s: float) -> dict[str, float | None]:
    """Detect -> fail over -> recovered, as offsets from t0."""
    return measure.rto_phases(timeline, AVAILABILITY, signal_probes, sustained_s=sustained_s)
