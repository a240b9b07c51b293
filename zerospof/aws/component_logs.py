"""What an AWS + EKS target's components recorded around t0, read from their APIs after the run's fault.

Sources: the history of every CloudWatch alarm the target's detection signals use (``detection.cloudwatch_alarms``,
``DescribeAlarmHistory``) and the core/v1 events of each cluster's event namespaces
(``kubernetes.clusters[].event_namespaces``). Every call goes through the boundary, so a source that cannot be
read becomes a :class:`~zerospof.component_logs.LogSource` with its reason, shown as "not read: ..."; never empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from zerospof.aws.clients import AwsClients
from zerospof.aws.target import AwsTarget, Cluster
from zerospof.component_logs import CollectedLogs, LogLine, LogSource, keep_around
from zerospof.errors import ZerospofError
from zerospof.k8s.clients import KubeClients
from zerospof.k8s.events import namespace_events

__all__ = ["BEFORE_S", "AFTER_S", "alarm_history", "read_component_logs"]

BEFORE_S = 60.0  # CloudWatch evaluates alarms per minute: a minute before t0 shows the state they started in
AFTER_S = 600.0  # region failover targets are minutes; the read happens after the run, so this is an upper bound
MAX_PAGES = 10
MAX_LINES = 80


def alarm_history(clients: AwsClients, region: str, alarm: str, start_wall: float, end_wall: float) -> list[LogLine]:
    """The alarm's history items (state updates, actions, configuration updates) in [start_wall, end_wall], oldest
    first, as ``StateUpdate: Alarm updated from OK to ALARM`` lines."""
    client = clients.client("cloudwatch", region)
    component = f"cloudwatch-alarm {region}/{alarm}"
    window = {"StartDate": dt.datetime.fromtimestamp(start_wall, dt.timezone.utc),
              "EndDate": dt.datetime.fromtimestamp(end_wall, dt.timezone.utc)}
    found: list[LogLine] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        page = client.describe_alarm_history(AlarmName=alarm, ScanBy="TimestampAscending", MaxRecords=100,
                                             **window, **({"NextToken": token} if token else {}))
        for item in page.get("AlarmHistoryItems", []):
            found.append(LogLine(component, item["Timestamp"].timestamp(),
                                 f"{item.get('HistoryItemType', '?')}: {item.get('HistorySummary', '')}"[:400]))
        token = page.get("NextToken")
        if not token:
            break
    return sorted(found, key=lambda line: line.t_wall)


def read_component_logs(target: AwsTarget, clients: AwsClients, kube_of: Callable[[Cluster], KubeClients],
                        t0_wall: float, end_wall: float) -> CollectedLogs:
    """Every source of ``target`` for [t0_wall - BEFORE_S, min(end_wall, t0_wall + AFTER_S)], one LogSource each."""
    start_wall, end_wall = t0_wall - BEFORE_S, min(end_wall, t0_wall + AFTER_S)
    readers: list[tuple[str, Callable[[], list[LogLine]]]] = []
    for region, alarm in target.detection.cloudwatch_alarms:
        readers.append((f"cloudwatch-alarm {region}/{alarm}",
                        lambda region=region, alarm=alarm: alarm_history(clients, region, alarm, start_wall, end_wall)))
    for cluster in target.clusters:
        for namespace in cluster.event_namespaces or ():
            component = f"kubernetes-events {cluster.name}/{namespace}"
            readers.append((component, lambda cluster=cluster, namespace=namespace, component=component:
                            namespace_events(kube_of(cluster), namespace, start_wall, end_wall, component)))
    sources = []
    for component, read in readers:
        try:
            sources.append(LogSource(component, tuple(keep_around(read(), t0_wall, MAX_LINES))))
        except ZerospofError as exc:
            sources.append(LogSource(component, error=" ".join(str(exc).split())[:300]))
    return CollectedLogs(start_wall, end_wall, tuple(sources))
