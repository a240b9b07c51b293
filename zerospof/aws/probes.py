"""AWS detection probes: ALB target health, Route 53 health checks, CloudWatch alarm transitions.

Each returns a plain dict with ``{"detected": bool}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zerospof.aws.clients import AwsClients
from zerospof.aws.route53_health import HealthCheckStatusSource

__all__ = ["alb_target_health", "cloudwatch_alarm", "route53_health_check"]


def alb_target_health(clients: AwsClients, region: str, target_group_arn: str, zone: str | None = None) -> dict[str, Any]:
    """Count healthy and unhealthy targets (in ``zone`` when given); detected when any is not healthy."""
    descriptions = clients.client("elbv2", region).describe_target_health(TargetGroupArn=target_group_arn)
    healthy, unhealthy = [], []
    for item in descriptions.get("TargetHealthDescriptions", []):
        target_zone = item["Target"].get("AvailabilityZone")
        if zone is not None and target_zone not in (None, zone):
            continue
        (healthy if item["TargetHealth"]["State"] == "healthy" else unhealthy).append(item["Target"]["Id"])
    return {"healthy": len(healthy), "unhealthy": sorted(unhealthy), "detected": bool(unhealthy)}


def route53_health_check(source: HealthCheckStatusSource, health_check_id: str) -> dict[str, Any]:
    """Report a Route 53 health check as its checkers see it; detected when most report it unhealthy."""
    observations = source.observations(health_check_id)
    unhealthy = sum(not o.healthy for o in observations)
    return {"checkers": len(observations), "unhealthy_checkers": unhealthy,
            "detected": unhealthy * 2 > len(observations)}


def cloudwatch_alarm(clients: AwsClients, region: str, alarm_name: str, since_wall: float) -> dict[str, Any]:
    """Report an alarm's state; detected when it is in ALARM and entered it at or after ``since_wall`` (t0, epoch s)."""
    alarms = clients.client("cloudwatch", region).describe_alarms(AlarmNames=[alarm_name]).get("MetricAlarms", [])
    if not alarms:
        return {"state": None, "alarm_since_wall": None, "detected": False}
    alarm = alarms[0]
    updated: datetime | None = alarm.get("StateUpdatedTimestamp")
    updated_wall = updated.timestamp() if updated is not None else None
    in_alarm = alarm["StateValue"] == "ALARM"
    return {"state": alarm["StateValue"], "alarm_since_wall": updated_wall if in_alarm else None,
            "detected": in_alarm and updated_wall is not None and updated_wall >= since_wall}
