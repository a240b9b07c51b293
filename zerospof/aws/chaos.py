"""The one Chaos Toolkit action only AWS targets have: the documented DR action of a region failure.

Everything else an AWS experiment calls is shared with every target (``probes.scenario``).
"""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed

from zerospof.aws.driver import AwsDriver
from zerospof.chaos.settings import ScenarioSettings
from zerospof.drivers import driver_for
from zerospof.faults.ledger import RecordState
from zerospof.timeline import EventKind

__all__ = ["run_dr_action"]


def run_dr_action(configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Action: run the target file's DR action (``recovery: manual``: Aurora failover to the DR region).

    Runs only while this run's fault is verified in effect, so a failed injection never fails a
    database over. Not reverted: it is recovery, not a fault. Returns ``skipped`` when the target
    file documents no manual DR action.
    """
    settings = ScenarioSettings.from_configuration(configuration)
    driver = driver_for(settings.target)
    if not isinstance(driver, AwsDriver):
        raise ActivityFailed(f"run_dr_action is for AWS targets (kind: aws), not {settings.target!r}")
    if not any(record.state is RecordState.VERIFIED for record in settings.ledger.open_records(settings.run_id)):
        raise ActivityFailed("no fault of this run is in effect: the DR action is not run")
    result = driver.dr_action(settings.scenario)
    if result is None:
        return {"skipped": "the target file documents no manual DR action for this scenario"}
    event = {"kind": str(EventKind.NOTE), "t_mono": time.monotonic(), "data": {"dr_action": result}}
    return {"dr_action": result, "zerospof_event": event}
