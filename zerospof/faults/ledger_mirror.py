"""An optional copy of the ledger in an S3 object prefix, for runners that exist for one job.

With ``$ZEROSPOF_LEDGER_MIRROR`` set to ``s3://bucket/prefix``, every ledger record written is also
put to ``s3://bucket/prefix/<record file name>`` (:func:`mirror_record`); ``zerospof revert
--ledger-mirror s3://bucket/prefix`` on a fresh runner first copies the mirrored records into its
local ledger (:func:`fetch_mirror`), then replays them as usual.

Fails closed where it matters: when the first write of a record (before the fault changes anything)
cannot be mirrored, the fault is not started. A later mirror write that fails (mid-fault, during the
revert) is logged and never stops a revert: the local record stays authoritative.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from zerospof.errors import ConfigError, FaultError

__all__ = ["MIRROR_ENV", "fetch_mirror", "mirror_record", "parse_mirror"]

MIRROR_ENV = "ZEROSPOF_LEDGER_MIRROR"
MAX_PAGES = 100
logger = logging.getLogger("zerospof.ledger")


def parse_mirror(url: str, source: str = f"${MIRROR_ENV}") -> tuple[str, str]:
    """``s3://bucket/prefix`` -> ``(bucket, prefix)``; ConfigError otherwise."""
    if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
        raise ConfigError(source, "", "expected s3://BUCKET[/PREFIX]", url)
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix.strip("/")


def _s3() -> Any:
    import boto3
    return boto3.client("s3")


def _key(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def mirror_record(path: Path, payload: dict[str, Any], strict: bool) -> None:
    """Put ``payload`` to the mirror (when ``$ZEROSPOF_LEDGER_MIRROR`` is set); ``strict``: raise FaultError on failure."""
    url = os.environ.get(MIRROR_ENV)
    if not url:
        return
    bucket, prefix = parse_mirror(url)
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        _s3().put_object(Bucket=bucket, Key=_key(prefix, path.name), ContentType="application/json",
                         Body=json.dumps(payload, indent=2, sort_keys=True, default=str).encode())
    except (BotoCoreError, ClientError) as exc:
        if strict:
            raise FaultError(f"could not mirror ledger record {path.name} to {url}: {exc}; no fault started") from exc
        logger.warning("could not mirror ledger record %s to %s: %s (the local record stays current)", path.name, url, exc)


def fetch_mirror(url: str, directory: Path) -> int:
    """Copy every mirrored record under ``url`` into ``directory`` (a local copy that is newer is kept); return the count."""
    from botocore.exceptions import BotoCoreError, ClientError

    from zerospof.errors import NoAccess

    bucket, prefix = parse_mirror(url, "--ledger-mirror")
    s3 = _s3()
    directory.mkdir(parents=True, exist_ok=True)
    copied, token = 0, None
    try:
        for _ in range(MAX_PAGES):
            page = s3.list_objects_v2(Bucket=bucket, Prefix=_key(prefix, ""), **({"ContinuationToken": token} if token else {}))
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if not name.endswith(".json"):
                    continue
                body = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
                local = directory / name
                if local.exists() and len(json.loads(local.read_text()).get("steps", [])) >= len(body.get("steps", [])):
                    continue
                local.write_text(json.dumps(body, indent=2, sort_keys=True))
                copied += 1
            token = page.get("NextContinuationToken")
            if not token:
                break
    except (BotoCoreError, ClientError) as exc:
        raise NoAccess(f"could not read the ledger mirror {url}: {exc}") from exc
    return copied
