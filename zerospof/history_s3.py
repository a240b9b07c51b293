"""Runs stored under an S3 prefix (CI artifacts uploaded by several machines): copied locally to be read.

Only the files history reads are fetched: ``<run-id>/measurements.json`` and each scenario's
``measurements.json`` and ``journal.json``. Credentials and region come from boto3's usual chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zerospof.cloud.boundary import translated
from zerospof.errors import ConfigError
from zerospof.history import RUN_ID

__all__ = ["is_s3_url", "split_s3_url", "download_runs"]

WANTED = ("measurements.json", "journal.json")


def is_s3_url(source: str) -> bool:
    return str(source).startswith("s3://")


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ("bucket", "some/prefix/"); ConfigError without a bucket."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise ConfigError("command line", "--reports", "expected s3://BUCKET[/PREFIX]", url)
    return bucket, (prefix.rstrip("/") + "/") if prefix.strip("/") else ""


def download_runs(url: str, destination: Path, client: Any = None) -> list[str]:
    """Copy every run's report files under the S3 prefix ``url`` into ``destination`` (same layout below the
    prefix) and return the keys copied. Raise CloudApiError (from the one boundary) when S3 refuses."""
    bucket, prefix = split_s3_url(url)
    if client is None:
        import boto3

        client = boto3.client("s3")
    copied = []
    with translated("s3", "ListObjectsV2"):
        pages = list(client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix))
    for page in pages:
        for item in page.get("Contents", []):
            parts = item["Key"][len(prefix):].split("/")
            if not (RUN_ID.match(parts[0]) and parts[-1] in WANTED and len(parts) in (2, 3)):
                continue
            if len(parts) == 2 and parts[1] != "measurements.json":
                continue
            target = destination.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with translated("s3", "GetObject"):
                client.download_file(bucket, item["Key"], str(target))
            copied.append(item["Key"])
    return copied
