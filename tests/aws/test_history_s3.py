"""History read from an S3 prefix (moto's in-process S3; the recorded runs of tests/fixtures uploaded to it)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.aws.conftest import REGION
from tests.recorded import RUN_IDS, recorded_reports
from zerospof.cloud.boundary import CloudApiError
from zerospof.cli import main
from zerospof.history import find_runs
from zerospof.history_s3 import download_runs, split_s3_url

BUCKET = "gameday-artifacts"


def upload(client: object, reports: Path, prefix: str, run_ids: tuple[str, ...]) -> None:
    for run_id in run_ids:
        for path in (reports / run_id).rglob("*"):
            if path.is_file():
                client.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(reports).as_posix()}")


@pytest.fixture()
def bucket(aws: None, tmp_path: Path) -> object:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    reports = recorded_reports(tmp_path, name="uploaded")
    upload(client, reports, "ci/machine-a", RUN_IDS[:2])
    upload(client, reports, "ci/machine-b", RUN_IDS[1:])
    return client


def test_only_the_files_history_reads_are_copied(bucket: object, tmp_path: Path) -> None:
    copied = download_runs(f"s3://{BUCKET}/ci/machine-a", tmp_path / "copy", bucket)
    assert copied and all(key.endswith(("/measurements.json", "/journal.json")) for key in copied)
    assert not list((tmp_path / "copy").rglob("timeline.jsonl"))
    assert json.loads((tmp_path / "copy" / RUN_IDS[0] / "measurements.json").read_text())["run_id"] == RUN_IDS[0]


def test_history_reads_an_s3_prefix_beside_a_local_directory(bucket: object, tmp_path: Path) -> None:
    local = recorded_reports(tmp_path, RUN_IDS[2:], name="local")
    runs = find_runs([f"s3://{BUCKET}/ci/machine-a", f"s3://{BUCKET}/ci/machine-b/", local])
    assert [run.run_id for run in runs] == list(RUN_IDS)
    by_id = {run.run_id: run for run in runs}
    assert by_id[RUN_IDS[0]].directory == f"s3://{BUCKET}/ci/machine-a/{RUN_IDS[0]}"
    assert by_id[RUN_IDS[1]].verdict == "INCOMPLETE"
    assert by_id[RUN_IDS[2]].directory == f"s3://{BUCKET}/ci/machine-b/{RUN_IDS[2]}"  # found there first: kept once


def test_the_history_command_lists_an_s3_prefix(bucket: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--reports", f"s3://{BUCKET}/ci/machine-b", "--json"]) == 0
    assert [run["run_id"] for run in json.loads(capsys.readouterr().out)] == list(RUN_IDS[1:])


def test_a_missing_bucket_is_an_error_naming_s3(aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CloudApiError, match="NoSuchBucket"):
        download_runs("s3://no-such-bucket/runs", tmp_path, boto3.client("s3", region_name=REGION))
    assert main(["history", "--reports", "s3://no-such-bucket/runs"]) == 3  # a target error, not a missed objective
    assert "s3 ListObjectsV2 failed: NoSuchBucket" in capsys.readouterr().err


@pytest.mark.parametrize(("url", "expected"), [("s3://b", ("b", "")), ("s3://b/", ("b", "")),
                                               ("s3://b/x/y", ("b", "x/y/")), ("s3://b/x/y/", ("b", "x/y/"))])
def test_an_s3_url_is_split_into_bucket_and_prefix(url: str, expected: tuple[str, str]) -> None:
    assert split_s3_url(url) == expected
