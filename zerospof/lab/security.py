"""The lab's security layer: a key and secret service per region, and the app's credential from it.

The seed's security layer is KMS (primary region, standby region) with Secrets Manager replicated
across regions. The lab runs one AWS-API-compatible endpoint per region (moto's server: real KMS
and Secrets Manager APIs; seeded with boto3, read by the apps with the same JSON API calls an SDK
sends, as a pod calls AWS), each in one zone of its
region (``t.SECURITY_ZONES``). Each service seeds itself at start: a KMS key (``alias/zerospof-app``)
and the secret ``zerospof/app/db`` holding the database credential encrypted with that region's
key, so every region holds a replica of the same credential.

The app needs the credential for every database call (it is the database user). A
:class:`Credential` refreshes it every ``REFRESH_S`` from its own region's service first, the other
region's replica second (GetSecretValue, then Decrypt), and keeps it for ``VALID_S``: a region's
service that is lost costs users nothing while the replica answers.

Run a service as ``python -m zerospof.lab.security --region r1 --listen ADDRESS:PORT``.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Credential", "KEY_ALIAS", "SECRET_ID", "decrypt_credential", "main", "seed"]

KEY_ALIAS = "alias/zerospof-app"
SECRET_ID = "zerospof/app/db"
CREDENTIAL = "postgres"  # the database user the app connects as (the lab's PostgreSQL trusts it)
REFRESH_S = 3.0
VALID_S = 15.0
CALL_TIMEOUT_S = 0.5
_FAKE_KEYS = {"aws_access_key_id": "zerospof-lab", "aws_secret_access_key": "zerospof-lab"}  # the lab's, not AWS's


def _client(service: str, endpoint: str, region: str) -> Any:
    import boto3  # only the services (seeding) use boto3; the apps speak the same API in plain HTTP
    from botocore.config import Config

    config = Config(connect_timeout=CALL_TIMEOUT_S, read_timeout=CALL_TIMEOUT_S, retries={"max_attempts": 1})
    return boto3.session.Session().client(service, region_name=_aws_region(region), endpoint_url=endpoint,
                                          config=config, **_FAKE_KEYS)


def _aws_region(region: str) -> str:
    return {"r1": "us-west-2", "r2": "us-east-1"}.get(region, "us-west-2")  # the seed's primary and standby


def seed(endpoint: str, region: str) -> None:
    """Create the app's key and its encrypted credential in the service at ``endpoint`` (idempotent)."""
    kms = _client("kms", endpoint, region)
    secrets = _client("secretsmanager", endpoint, region)
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    key_id = aliases.get(KEY_ALIAS)
    if key_id is None:
        key_id = kms.create_key(Description=f"zerospof lab app key ({region})")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=key_id)
    blob = kms.encrypt(KeyId=key_id, Plaintext=CREDENTIAL.encode())["CiphertextBlob"]
    try:
        secrets.create_secret(Name=SECRET_ID, SecretString=base64.b64encode(blob).decode())
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=SECRET_ID, SecretString=base64.b64encode(blob).decode())


def _call(endpoint: str, region: str, service: str, target: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One AWS JSON-protocol call (what the SDKs send: POST /, ``X-Amz-Target``), without an SDK.

    The apps use this instead of boto3: the same API at a fraction of an SDK's memory and CPU in each
    replica (the lab's own latency is what the scenarios judge). The credential
    scope names the region and service as a SigV4 request would; the lab's services do not check
    signatures.
    """
    url = urlsplit(endpoint)
    scope = f"zerospof-lab/{time.strftime('%Y%m%d')}/{_aws_region(region)}/{service}/aws4_request"
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target,
               "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"}
    connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=CALL_TIMEOUT_S)
    try:
        connection.request("POST", "/", body=json.dumps(payload), headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise OSError(f"{target}: HTTP {response.status}: {body[:200]!r}")
    return json.loads(body)


def decrypt_credential(endpoint: str, region: str) -> str:
    """Read the encrypted credential from the region's Secrets Manager and decrypt it with its KMS."""
    secret = _call(endpoint, region, "secretsmanager", "secretsmanager.GetSecretValue", {"SecretId": SECRET_ID})
    plain = _call(endpoint, region, "kms", "TrentService.Decrypt", {"CiphertextBlob": secret["SecretString"]})
    return base64.b64decode(plain["Plaintext"]).decode()


class Credential:
    """The app's database credential, refreshed in the background from ``services`` in order.

    ``services``: ``[(region, endpoint), ...]``, the app's own region first. :meth:`value` is the
    credential while the last refresh is younger than ``VALID_S``, else None. :meth:`state` says
    which region's service answered last and when (for health checks and the security signal).
    """

    def __init__(self, services: list[tuple[str, str]]) -> None:
        self.services = services
        self.use_replica = True  # False re-creates a flaw on purpose: the own region's service only
        self._value: str | None = None
        self._at = 0.0
        self._at_wall: float | None = None
        self._region: str | None = None
        self._errors: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._refresh_forever, name="credential", daemon=True).start()

    def value(self) -> str | None:
        with self._lock:
            return self._value if time.monotonic() - self._at <= VALID_S else None

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"valid": self._value is not None and time.monotonic() - self._at <= VALID_S,
                    "region": self._region, "refreshed_at": self._at_wall, "errors": list(self._errors)}

    def refresh(self) -> bool:
        errors = []
        for region, endpoint in self.services if self.use_replica else self.services[:1]:
            try:
                value = decrypt_credential(endpoint, region)
            except Exception as exc:  # noqa: BLE001 - any failure of one service moves on to the replica
                errors.append(f"{region}: {type(exc).__name__}: {exc}"[:200])
                continue
            with self._lock:
                self._value, self._at, self._at_wall, self._region, self._errors = (
                    value, time.monotonic(), time.time(), region, errors)
            return True
        with self._lock:
            self._errors = errors
        return False

    def _refresh_forever(self) -> None:
        while True:  # lives as long as the app replica; one refresh every REFRESH_S
            started = time.monotonic()
            self.refresh()
            time.sleep(max(0.2, REFRESH_S - (time.monotonic() - started)))


def main(argv: list[str] | None = None) -> int:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    parser = argparse.ArgumentParser(prog="python -m zerospof.lab.security")
    parser.add_argument("--region", required=True)
    parser.add_argument("--listen", required=True, help="ADDRESS:PORT")
    args = parser.parse_args(argv)
    address, _, port = args.listen.rpartition(":")
    server = ThreadedMotoServer(ip_address=address, port=int(port), verbose=False)
    server.start()
    endpoint = f"http://{address}:{port}"
    for _ in range(50):  # bounded: the server answers within a few seconds
        try:
            seed(endpoint, args.region)
            break
        except Exception as exc:  # noqa: BLE001 - not serving yet
            print(f"security {args.region}: seeding: {type(exc).__name__}: {exc}", flush=True)
            time.sleep(0.2)
    else:
        return 1
    print(f"security {args.region} serving KMS and Secrets Manager on {endpoint}", flush=True)
    threading.Event().wait()  # serve until killed
    return 0


if __name__ == "__main__":
    sys.exit(main())
