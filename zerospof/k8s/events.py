"""Kubernetes events (core/v1) of a namespace within a time window, as timestamped log lines for the report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from zerospof.component_logs import LogLine
from zerospof.k8s.clients import KubeClients

__all__ = ["namespace_events"]

PAGE_SIZE = 500
REQUEST_TIMEOUT_S = 10.0
MAX_PAGES = 20  # 10,000 events of one namespace: far beyond a run's window; the rest is not read


def namespace_events(kube: KubeClients, namespace: str, start_wall: float, end_wall: float,
                     component: str) -> list[LogLine]:
    """The events of ``namespace`` last seen within [start_wall, end_wall] (epoch s), oldest first, as
    ``Warning NodeNotReady Node/ip-10-0-1-5: Node ... status is now: NodeNotReady (x3)`` lines.

    An event's time is its last occurrence (``series.lastObservedTime``, ``lastTimestamp``, ``eventTime``,
    then its creation). Errors are the boundary's (:class:`~zerospof.cloud.boundary.CloudApiError`).
    """
    found: list[LogLine] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        page = kube.core.list_namespaced_event(namespace, limit=PAGE_SIZE, _request_timeout=REQUEST_TIMEOUT_S,
                                               **({"_continue": token} if token else {}))
        for event in page.items or []:
            when = _event_time(event)
            if when is not None and start_wall <= when <= end_wall:
                found.append(LogLine(component, when, _event_text(event)))
        token = page.metadata._continue if page.metadata is not None else None
        if not token:
            break
    return sorted(found, key=lambda line: line.t_wall)


def _event_time(event: Any) -> float | None:
    series = getattr(event, "series", None)
    for stamp in (getattr(series, "last_observed_time", None), event.last_timestamp, event.event_time,
                  event.first_timestamp, event.metadata.creation_timestamp if event.metadata else None):
        if isinstance(stamp, dt.datetime):
            return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)).timestamp()
    return None


def _event_text(event: Any) -> str:
    involved = event.involved_object
    subject = f"{involved.kind}/{involved.name}" if involved is not None else "?"
    count = f" (x{event.count})" if event.count and event.count > 1 else ""
    return f"{event.type or '?'} {event.reason or '?'} {subject}: {(event.message or '').strip()}{count}"[:400]
