"""Route 53 health-check status behind an interface: moto cannot make a health check fail.

:class:`HealthCheckStatusSource` is the interface; :class:`Route53HealthChecks` reads AWS;
:class:`FakeHealthChecks` is the test double.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from zerospof.errors import FaultError

__all__ = ["CheckerObservation", "FakeHealthChecks", "HealthCheckStatusSource", "Route53HealthChecks"]


@dataclass(frozen=True)
class CheckerObservation:
    """What one Route 53 checker region last saw."""

    checker_region: str
    healthy: bool
    status: str


class HealthCheckStatusSource(Protocol):
    """Report the checker observations of a health check.

    Contract: ``observations(id)`` returns at least one observation for a known health check and
    fails with FaultError for an unknown one; an endpoint that is down is reported unhealthy by a
    majority of checkers.
    """

    def observations(self, health_check_id: str) -> list[CheckerObservation]: ...


class Route53HealthChecks:
    """:class:`HealthCheckStatusSource` on Route 53 ``GetHealthCheckStatus``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def observations(self, health_check_id: str) -> list[CheckerObservation]:
        from zerospof.cloud.boundary import CloudApiError
        try:
            response = self.client.get_health_check_status(HealthCheckId=health_check_id)
        except CloudApiError as exc:
            raise FaultError(f"health check {health_check_id}: {exc}") from exc
        return [CheckerObservation(o.get("Region", "?"), o["StatusReport"]["Status"].startswith("Success"),
                                   o["StatusReport"]["Status"]) for o in response.get("HealthCheckObservations", [])]


class FakeHealthChecks:
    """A FAKE :class:`HealthCheckStatusSource`: tests set each endpoint up or down."""

    REGIONS = ("us-east-1", "us-west-1", "eu-west-1")

    def __init__(self) -> None:
        self.healthy: dict[str, bool] = {}

    def set_healthy(self, health_check_id: str, healthy: bool) -> None:
        """Make every checker see ``health_check_id`` as ``healthy``."""
        self.healthy[health_check_id] = healthy

    def observations(self, health_check_id: str) -> list[CheckerObservation]:
        if health_check_id not in self.healthy:
            raise FaultError(f"health check {health_check_id}: not found")
        ok = self.healthy[health_check_id]
        status = "Success: HTTP Status Code 200" if ok else "Failure: Connection timed out"
        return [CheckerObservation(region, ok, status) for region in self.REGIONS]
