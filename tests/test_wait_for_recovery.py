"""The method holds the fault until the target says failover finished *and* its users have been served for the
sustained window: a run is never reverted while users still fail (their RTO would then be "not recovered")."""

from __future__ import annotations

import time
from types import SimpleNamespace

from zerospof.chaos import actions
from zerospof.scenario import WRITES
from zerospof.timeline import Timeline


class _RecoveredTarget:
    """Test stand-in for a driver whose own view says failover finished at once (e.g. a new database leader)."""

    def recovered(self, scenario, options=None, baseline=None) -> bool:  # noqa: ANN001 - the Driver protocol's
        return True


def _wait(monkeypatch, timeline: Timeline, users_fail: bool) -> tuple[dict, float]:
    settings = SimpleNamespace(target="lab", run_id="r", scenario="az-failure", fault_options={},
                               recovery_timeout_s=2.0)
    monkeypatch.setattr(actions, "_settings", lambda configuration: settings)
    monkeypatch.setattr(actions, "driver_for", lambda target: _RecoveredTarget())
    monkeypatch.setattr(actions, "_fault_in_effect", lambda settings: True)
    monkeypatch.setattr(actions, "run_monitoring", lambda run_id: None)
    monkeypatch.setattr(actions, "run_users", lambda run_id: (timeline, 1.0))
    monkeypatch.setattr(actions, "POLL_S", 0.05)

    def users() -> None:  # a write every 50 ms while the action waits, failing or served
        timeline.record(WRITES, not users_fail, {"seq": 0}, t_mono=time.monotonic(), latency_s=0.01)
    started = time.monotonic()  # the action's own clock; its sleeps also send the users' requests
    monkeypatch.setattr(actions, "time", SimpleNamespace(monotonic=time.monotonic,
                                                         sleep=lambda s: (users(), time.sleep(s))))
    return actions.wait_for_recovery(None, sustained_s=0.5), time.monotonic() - started


def test_users_served_end_the_wait_once_sustained(monkeypatch):
    found, waited = _wait(monkeypatch, Timeline(), users_fail=False)
    assert found["recovered"] is True and 0.5 <= waited < 1.5


def test_users_still_failing_hold_the_fault_until_the_recovery_timeout_though_the_target_says_recovered(monkeypatch):
    found, waited = _wait(monkeypatch, Timeline(), users_fail=True)
    assert found["recovered"] is False and waited >= 2.0
