"""ARC zonal shift behind an interface: moto does not implement Route 53 ARC.

:class:`ZonalShifts` is the interface; :class:`Boto3ZonalShifts` calls ``arc-zonal-shift``;
:class:`FakeZonalShifts` is the test double. Used to measure how a platform behaves when
traffic is shifted away from an AZ (the recovery action of an AZ failure).
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

__all__ = ["Boto3ZonalShifts", "FakeZonalShifts", "ZonalShifts"]


class ZonalShifts(Protocol):
    """Start, list and cancel zonal shifts of a load-balancer resource.

    Contract: ``start`` returns an id that ``active(resource)`` then lists with its AZ;
    ``cancel`` removes it from ``active`` and is idempotent; shifts of other resources are unaffected.
    """

    def start(self, resource_arn: str, away_from_zone: str, expires_in_min: int, comment: str) -> str: ...
    def active(self, resource_arn: str) -> dict[str, str]: ...  # shift id -> away-from AZ
    def cancel(self, shift_id: str) -> None: ...


class Boto3ZonalShifts:
    """:class:`ZonalShifts` on AWS ARC (``arc-zonal-shift``) through a (proxied) boto3 client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, resource_arn: str, away_from_zone: str, expires_in_min: int, comment: str) -> str:
        response = self.client.start_zonal_shift(resourceIdentifier=resource_arn, awayFrom=away_from_zone,
                                                 expiresIn=f"{expires_in_min}m", comment=comment)
        return str(response["zonalShiftId"])

    def active(self, resource_arn: str) -> dict[str, str]:
        response = self.client.list_zonal_shifts(status="ACTIVE", resourceIdentifier=resource_arn)
        return {item["zonalShiftId"]: item["awayFrom"] for item in response.get("items", [])}

    def cancel(self, shift_id: str) -> None:
        from zerospof.cloud.boundary import CloudApiError
        try:
            self.client.cancel_zonal_shift(zonalShiftId=shift_id)
        except CloudApiError as exc:
            if exc.code not in ("ConflictException", "ResourceNotFoundException"):
                raise


class FakeZonalShifts:
    """A FAKE :class:`ZonalShifts` in memory."""

    def __init__(self) -> None:
        self.shifts: dict[str, tuple[str, str]] = {}
        self._ids = itertools.count(1)

    def start(self, resource_arn: str, away_from_zone: str, expires_in_min: int, comment: str) -> str:
        shift_id = f"shift-{next(self._ids)}"
        self.shifts[shift_id] = (resource_arn, away_from_zone)
        return shift_id

    def active(self, resource_arn: str) -> dict[str, str]:
        return {i: zone for i, (arn, zone) in self.shifts.items() if arn == resource_arn}

    def cancel(self, shift_id: str) -> None:
        self.shifts.pop(shift_id, None)
