"""Actions and probes the experiments call (through the thin modules in ``probes/``).

They link to each other and to the measurement control only through the experiment's
configuration (run id) and the ledger on disk, never through module state. An action whose
output carries ``{"zerospof_event": {...}}`` adds that event to the run's timeline.
"""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed

from zerospof.chaos.control import run_monitoring, run_users
from zerospof.chaos.settings import ScenarioSettings
from zerospof.drivers import driver_for
from zerospof.errors import ZerospofError
from zerospof.faults import apply
from zerospof.faults.ledger import RecordState
from zerospof.faults.runner import signals_held
from zerospof.scenario import users_served_since
from zerospof.timeline import EventKind

__all__ = ["app_is_served", "target_is_ready", "inject_fault", "wait_for_recovery", "read_back_canary", "commit_canary",
           "revert_faults", "wait_until_healthy"]

POLL_S = 0.25


def _settings(configuration: dict[str, Any] | None) -> ScenarioSettings:
    return ScenarioSettings.from_configuration(configuration)


def app_is_served(configuration: dict[str, Any] | None = None) -> bool:
    """Probe: users are served through the real DNS + load-balancer path (the steady state)."""
    return driver_for(_settings(configuration).target).serving()


def target_is_ready(configuration: dict[str, Any] | None = None) -> bool:
    """Probe: every component of the target is healthy (the steady state)."""
    settings = _settings(configuration)
    try:
        driver_for(settings.target).check_ready()
    except ZerospofError:
        return False
    return True


def inject_fault(configuration: dict[str, Any] | None = None, fault: str | list[str] | None = None) -> dict[str, Any]:
    """Action: apply the scenario's fault and verify it is in effect (t0). The rollback reverts it.

    ``fault``: the kind of fault the experiment file says it injects (e.g. ``az-loss``), or the kinds
    it may inject when the target file decides among them (e.g. ``[nacl-blackhole, fis-experiment,
    zone-drain]`` on AWS). Its arguments are the configuration's ``zerospof_fault_options`` (the lab)
    or the target file's ``scenarios`` section (AWS), which the monitors read too. When given, a fault
    of another kind fails the action before anything changes.
    """
    settings = _settings(configuration)
    planned = driver_for(settings.target).fault(settings.scenario, settings.fault_options)
    named = [fault] if isinstance(fault, str) else list(fault or [])
    kinds = [child.kind for child in getattr(planned, "children", ())] or [planned.kind]
    if named and not set(kinds) <= set(named):
        raise ActivityFailed(f"the experiment names fault {' or '.join(map(repr, named))}, but {settings.target} would "
                             f"inject {planned.describe()}; nothing injected")
    try:
        record = apply(planned, settings.ledger, run_id=settings.run_id)
    except ZerospofError as exc:
        raise ActivityFailed(f"{planned.describe()}: {exc}") from exc
    return {"record": record.id, "fault": planned.describe(), "kind": planned.kind, "options": settings.fault_options,
            "ledger": str(record.path)}


def _fault_in_effect(settings: ScenarioSettings) -> bool:
    return any(record.state is RecordState.VERIFIED for record in settings.ledger.open_records(settings.run_id))


def wait_for_recovery(configuration: dict[str, Any] | None = None, sustained_s: float = 5.0) -> dict[str, Any]:
    """Action: wait (bounded) until the target's own view says failover finished, for ``sustained_s``, and the
    users of the run (its samplers, when it runs in this process) have been served for ``sustained_s`` too:
    the fault is held until users recovered or the recovery timeout, never reverted while they still fail.

    Returns ``recovered: False`` on timeout rather than raising: the measurements say what happened.
    Fails when the fault was reverted under it (the abort guard fired).
    """
    settings = _settings(configuration)
    driver = driver_for(settings.target)
    monitoring = run_monitoring(settings.run_id)  # what the driver read before the fault, e.g. lease holders
    baseline = monitoring.baseline if monitoring is not None else None
    users = run_users(settings.run_id)
    started = time.monotonic()
    deadline = started + settings.recovery_timeout_s
    since: float | None = None
    while time.monotonic() < deadline:
        if not _fault_in_effect(settings):
            raise ActivityFailed("the fault is no longer in effect (aborted or reverted) before recovery")
        now = time.monotonic()
        if driver.recovered(settings.scenario, options=settings.fault_options, baseline=baseline):
            since = now if since is None else since
            served_from = started if users is None else users_served_since(*users, since=started)
            if now - since >= sustained_s and now - served_from >= sustained_s:
                return {"recovered": True, "waited_s": round(now - started, 3)}
        else:
            since = None
        time.sleep(POLL_S)
    return {"recovered": False, "waited_s": round(time.monotonic() - started, 3)}


def read_back_canary(configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Action: read the write canary's records back from the current primary (for RPO)."""
    settings = _settings(configuration)
    started_mono, started_wall = time.monotonic(), time.time()  # writes acknowledged before this must be there
    try:
        present = driver_for(settings.target).read_back(settings.run_id)
    except ZerospofError as exc:  # RPO is then not measured (None with this reason), never 0 and never "all lost"
        event = {"kind": str(EventKind.CANARY_READBACK), "t_mono": started_mono, "t_wall": started_wall,
                 "data": {"probe": "write-canary", "error": f"{type(exc).__name__}: {exc}"}}
        return {"present": None, "error": str(exc), "zerospof_event": event}
    event = {"kind": str(EventKind.CANARY_READBACK), "t_mono": started_mono, "t_wall": started_wall,
             "data": {"probe": "write-canary", "present_seqs": sorted(present)}}
    return {"present": len(present), "zerospof_event": event}


def commit_canary(configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Action: commit a new revision to the GitOps source (for deployment delay)."""
    settings = _settings(configuration)
    revision = driver_for(settings.target).commit_canary(settings.run_id)
    event = {"kind": str(EventKind.CANARY_COMMIT), "t_mono": time.monotonic(), "t_wall": time.time(), "data": {"revision": revision}}
    return {"revision": revision, "zerospof_event": event}


def revert_faults(configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rollback: revert every open fault of this run from the ledger (idempotent)."""
    settings = _settings(configuration)
    with signals_held():
        reports = settings.ledger.revert_open(settings.run_id)
    failed = [report for report in reports if not report.reverted]
    if failed:
        raise ActivityFailed("could not revert: " + "; ".join(f"{r.description}: {r.error}" for r in failed))
    return {"reverted": [report.description for report in reports]}


def wait_until_healthy(configuration: dict[str, Any] | None = None, timeout_s: float = 120.0) -> dict[str, Any]:
    """Rollback: wait (bounded) until the target healed after the revert and is back in its reference state."""
    settings = _settings(configuration)
    if not settings.ledger.run_records(settings.run_id):
        return {"skipped": "no fault was applied in this run"}
    driver = driver_for(settings.target)
    started = time.monotonic()
    healthy_after_s = None
    fail_back: dict[str, Any] | None = None  # when restoring had to act (e.g. a switchover): users may feel it
    while time.monotonic() - started < timeout_s:
        if healthy_after_s is None and driver.healthy():
            healthy_after_s = round(time.monotonic() - started, 3)
        if healthy_after_s is not None:
            asked_mono, asked_wall = time.monotonic(), time.time()
            if driver.restore() and driver.healthy():
                found: dict[str, Any] = {"healthy_after_s": healthy_after_s,
                                         "restored_after_s": round(time.monotonic() - started, 3)}
                return {**found, "zerospof_event": fail_back} if fail_back else found
            fail_back = fail_back or {"kind": str(EventKind.FAIL_BACK), "t_mono": asked_mono, "t_wall": asked_wall,
                                      "data": {"why": "the target was healed but not in its reference state"}}
        time.sleep(POLL_S * 2)
    state = "healthy but not restored to its reference state" if healthy_after_s is not None else "not healthy"
    raise ActivityFailed(f"the target is {state} {timeout_s:.0f}s after the revert")
