"""AWS probes: ALB target health, Route 53 health checks, CloudWatch alarm transitions (detection
signals: each returns a plain dict with ``{"detected": bool}``), and the standby region's security
replicas (:class:`StandbySecurity`, a layer probe).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from zerospof.aws.clients import AwsClients
from zerospof.aws.route53_health import HealthCheckStatusSource
from zerospof.cloud.boundary import CloudApiError

__all__ = ["StandbySecurity", "alb_target_health", "cloudwatch_alarm", "region_key_id", "route53_health_check"]

SECURITY_CANARY = b"zerospof-security-canary"


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


def region_key_id(key_id: str, region: str) -> str:
    """The id of ``key_id``'s replica in ``region``: a key ARN with its region swapped; an id or alias as is
    (a multi-Region key's ``mrk-...`` id is the same in every region)."""
    if key_id.startswith("arn:"):
        parts = key_id.split(":")
        return ":".join(parts[:3] + [region] + parts[4:])
    return key_id


class StandbySecurity:
    """Decrypt with each KMS key's replica and read each secret's replica in the standby region.

    :meth:`prepare` (before the fault, primary region up) encrypts a canary with each primary key;
    each call then decrypts it in ``standby_region`` with that key's replica (a multi-Region key
    decrypts what its primary encrypted) and reads each secret's replica there, as a pod in the
    standby region would. Returns ``{"refreshed_at": {member: epoch seconds of its last success in
    this read, or None}, "reasons": {member: why not}}``: the security layer has recovered when every
    member succeeded after t0 (``measure.all_renewed_s``). Members: ``kms:<key>@<region>`` and
    ``secret:<name>@<region>``. Read-only (Encrypt and Decrypt change nothing).
    """

    def __init__(self, clients: AwsClients, primary_region: str, standby_region: str,
                 key_ids: tuple[str, ...], secret_ids: tuple[str, ...]) -> None:
        self.clients = clients
        self.primary_region = primary_region
        self.standby_region = standby_region
        self.key_ids = key_ids
        self.secret_ids = secret_ids
        self._ciphertexts: dict[str, bytes] = {}

    def prepare(self) -> None:
        """Encrypt the canary with every primary key (raises CloudApiError naming the key that cannot)."""
        kms = self.clients.client("kms", self.primary_region)
        for key_id in self.key_ids:
            self._ciphertexts[key_id] = kms.encrypt(KeyId=key_id, Plaintext=SECURITY_CANARY)["CiphertextBlob"]

    def __call__(self) -> dict[str, Any]:
        if len(self._ciphertexts) < len(self.key_ids):
            self.prepare()
        refreshed: dict[str, float | None] = {}
        reasons: dict[str, str] = {}
        for key_id in self.key_ids:
            member = f"kms:{key_id}@{self.standby_region}"
            refreshed[member], reason = self._decrypt(key_id)
            if reason:
                reasons[member] = reason
        for secret_id in self.secret_ids:
            member = f"secret:{secret_id}@{self.standby_region}"
            refreshed[member], reason = self._read_secret(secret_id)
            if reason:
                reasons[member] = reason
        return {"region": self.standby_region, "refreshed_at": refreshed, "reasons": reasons}

    def _decrypt(self, key_id: str) -> tuple[float | None, str | None]:
        kms = self.clients.client("kms", self.standby_region)
        replica = region_key_id(key_id, self.standby_region)
        try:
            state = kms.describe_key(KeyId=replica)["KeyMetadata"].get("KeyState")
            if state != "Enabled":
                return None, f"the replica key in {self.standby_region} is {state}"
            plain = kms.decrypt(CiphertextBlob=self._ciphertexts[key_id], KeyId=replica)["Plaintext"]
        except CloudApiError as exc:
            return None, str(exc)
        if plain != SECURITY_CANARY:
            return None, "the replica key decrypted the canary to something else"
        return time.time(), None

    def _read_secret(self, secret_id: str) -> tuple[float | None, str | None]:
        secrets = self.clients.client("secretsmanager", self.standby_region)
        try:
            value = secrets.get_secret_value(SecretId=secret_id)
        except CloudApiError as exc:
            return None, str(exc)
        if value.get("SecretString") is None and value.get("SecretBinary") is None:
            return None, f"the replica of {secret_id} in {self.standby_region} holds no value"
        return time.time(), None
