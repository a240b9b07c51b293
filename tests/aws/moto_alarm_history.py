"""FAKE (test-only): CloudWatch ``DescribeAlarmHistory`` for moto, which records alarm state history but does not serve it.

moto 5.2 keeps, on every ``SetAlarmState``, the state the alarm leaves (``Alarm.history``) but raises
NotImplementedError for ``DescribeAlarmHistory`` (a 500 from a moto server). :func:`serve_alarm_history` adds
the operation to moto's CloudWatch responses, built only from that recorded history: each state update
becomes the ``StateUpdate`` item AWS documents ("Alarm updated from OK to ALARM" at the new state's time).
Used in place of AWS's own history in tests of the alarm-history reader; the unpatched moto is what the
"not read" test uses.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult

__all__ = ["serve_alarm_history"]


def _describe_alarm_history(self: CloudWatchResponse) -> ActionResult:
    name = self._get_param("AlarmName")
    start, end = self._get_param("StartDate"), self._get_param("EndDate")
    alarm = self.cloudwatch_backend.alarms.get(name)
    items: list[dict[str, Any]] = []
    if alarm is not None:
        states = [(value, reason, when) for _, reason, _, value, when in alarm.history]
        states.append((alarm.state_value, alarm.state_reason, alarm.state_updated_timestamp))
        for (old, old_reason, _), (new, reason, when) in zip(states, states[1:]):
            items.append({"AlarmName": name, "AlarmType": "MetricAlarm", "Timestamp": when, "HistoryItemType": "StateUpdate",
                          "HistorySummary": f"Alarm updated from {old} to {new}",
                          "HistoryData": json.dumps({"oldState": {"stateValue": old, "stateReason": old_reason},
                                                     "newState": {"stateValue": new, "stateReason": reason}})})
    items = [item for item in items if _within(item["Timestamp"], start, end)]
    return ActionResult({"AlarmHistoryItems": items})


def _within(when: dt.datetime, start: Any, end: Any) -> bool:
    moment = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    bounds = [_parsed(start), _parsed(end)]
    return (bounds[0] is None or moment >= bounds[0]) and (bounds[1] is None or moment <= bounds[1])


def _parsed(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def serve_alarm_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto (in-process or a server in this process) answer ``DescribeAlarmHistory`` for this test."""
    monkeypatch.setattr(CloudWatchResponse, "describe_alarm_history", _describe_alarm_history, raising=False)
