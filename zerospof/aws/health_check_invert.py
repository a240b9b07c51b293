"""``HealthCheckInvert``: invert one Route 53 health check, so Route 53 treats its endpoint as down and answers
with the record's failover partner; revert puts it back."""

from __future__ import annotations

from typing import Any

from zerospof.aws.fault_base import AwsFault
from zerospof.aws.nacl_blackhole import MARKER_TAG
from zerospof.errors import FaultError, FaultNotInEffect, SafetyRefusal

__all__ = ["HealthCheckInvert", "ROUTE53_REGION", "health_check_tags", "uninvert"]

ROUTE53_REGION = "us-east-1"  # Route 53 is global; its API lives here


class HealthCheckInvert(AwsFault):
    """Invert ``health_check_id`` (params also: ``selection_tags``, ``allowed_account_ids``, optional ``endpoint_url``).

    One DNS answer fails alone: Route 53 reports the check unhealthy whatever the endpoint does (its checkers'
    usual ~30 s), and the records using it fail over. ``prepare`` refuses (SafetyRefusal) a check without every
    selection tag, and (FaultError) one already inverted; ``inject`` tags the check with the ``zerospof:fault``
    marker before inverting it, so ``zerospof revert --target`` finds it; ``revert`` un-inverts a check it
    inverted and removes the marker. Idempotent; safe before ``inject``.
    """

    kind = "health-check-invert"

    def describe(self) -> str:
        return f"{self.kind}(route53 health check {self.params.get('health_check_id')})"

    def _inverted(self) -> bool:
        found = self.client("route53").get_health_check(HealthCheckId=self.params["health_check_id"])
        return bool(found["HealthCheck"]["HealthCheckConfig"].get("Inverted"))

    def prepare(self) -> None:
        self.check_account()
        tags = health_check_tags(self.client("route53"), self.params["health_check_id"])
        wanted = dict(self.params.get("selection_tags") or {})
        if not wanted or any(tags.get(key) != value for key, value in wanted.items()):
            raise SafetyRefusal(f"{self.describe()}: the health check does not carry the selection tags {wanted}; "
                                "refusing to invert it")
        if self._inverted():
            raise FaultError(f"{self.describe()}: already inverted; nothing done")
        self.undo = {"was_inverted": False}

    def inject(self) -> None:
        route53 = self.client("route53")
        route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=self.params["health_check_id"],
                                         AddTags=[{"Key": MARKER_TAG, "Value": "inverted"}])
        route53.update_health_check(HealthCheckId=self.params["health_check_id"], Inverted=True)

    def verify(self) -> None:
        if not self._inverted():
            raise FaultNotInEffect(f"{self.describe()}: the health check is not inverted")

    def revert(self) -> None:
        if "was_inverted" not in self.undo:
            return  # prepare never finished: nothing was changed
        uninvert(self.client("route53"), self.params["health_check_id"])


def health_check_tags(route53: Any, health_check_id: str) -> dict[str, str]:
    """The tags of a Route 53 health check."""
    listed = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=health_check_id)
    return {t["Key"]: t["Value"] for t in listed["ResourceTagSet"].get("Tags", [])}


def uninvert(route53: Any, health_check_id: str) -> bool:
    """Un-invert a health check carrying zerospof's marker and remove the marker; return whether it carried it
    (idempotent; a check without the marker is left alone)."""
    if MARKER_TAG not in health_check_tags(route53, health_check_id):
        return False
    route53.update_health_check(HealthCheckId=health_check_id, Inverted=False)
    route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=health_check_id, RemoveTagKeys=[MARKER_TAG])
    return True
