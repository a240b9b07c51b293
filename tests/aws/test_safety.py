"""Safety guards refuse before anything changes: account allow-list, self-lockout."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from tests.aws.moto_world import ACCOUNT, REGION, TAGS, ZONES, acl_ids, associations, target_document, write_target
from zerospof.aws.driver import AwsDriver
from zerospof.aws.nacl_blackhole import NaclBlackhole
from zerospof.aws.run import print_dry_run
from zerospof.aws.safety import discover_runner_subnet_ids, runner_subnets
from zerospof.aws.target import load_aws_target
from zerospof.errors import SafetyRefusal
from zerospof.faults import Ledger, apply, injected


def test_an_account_not_on_the_allow_list_is_refused_and_nothing_changes(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before, acls_before = associations(ec2), acl_ids(ec2)
    fault = NaclBlackhole({"region": REGION, "availability_zones": [ZONES[0]], "selection_tags": dict(TAGS),
                           "allowed_account_ids": ["999999999999"], "runner_subnet_ids": []})
    with pytest.raises(SafetyRefusal, match=ACCOUNT):
        with injected(fault, ledger=Ledger(tmp_path / "ledger")):
            pass
    assert associations(ec2) == before and acl_ids(ec2) == acls_before


def test_runs_and_dry_runs_refuse_a_target_whose_allow_list_lacks_the_callers_account(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before = associations(ec2)
    document = target_document()
    document["aws"]["allowed_account_ids"] = ["999999999999"]
    path = write_target(tmp_path, document)
    with pytest.raises(SafetyRefusal, match="not in the target's allowed_account_ids"):
        print_dry_run(path, ["az-failure"])
    driver = AwsDriver(load_aws_target(path))
    with pytest.raises(SafetyRefusal, match="not in the target's allowed_account_ids"):
        driver.check_ready()
    with pytest.raises(SafetyRefusal, match="not in the target's allowed_account_ids"):
        apply(driver.fault("az-failure", {}), Ledger(tmp_path / "ledger"))  # the fault checks again itself
    assert associations(ec2) == before
    assert Ledger(tmp_path / "ledger").open_records() == []


def test_blackholing_the_runners_own_subnet_is_refused_unless_allowed(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before = associations(ec2)
    runner_subnet = staging["tagged"][ZONES[0]][1]
    params = {"region": REGION, "availability_zones": [ZONES[0]], "selection_tags": dict(TAGS),
              "allowed_account_ids": [ACCOUNT], "runner_subnet_ids": [runner_subnet]}
    with pytest.raises(SafetyRefusal, match=runner_subnet):
        with injected(NaclBlackhole(params), ledger=Ledger(tmp_path / "ledger")):
            pass
    assert associations(ec2) == before
    with injected(NaclBlackhole({**params, "allow_runner_blackhole": True}), ledger=Ledger(tmp_path / "ledger")):
        assert associations(ec2)[runner_subnet] != before[runner_subnet]
    assert associations(ec2) == before


def test_the_runner_subnet_from_the_target_file_protects_a_whole_run(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before = associations(ec2)
    document = target_document(safety={"runner": {"discover": False, "subnet_ids": [staging["tagged"][ZONES[0]][0]]}})
    fault = AwsDriver(load_aws_target(write_target(tmp_path, document))).fault("az-failure", {})
    with pytest.raises(SafetyRefusal, match="runner itself uses"):
        with injected(fault, ledger=Ledger(tmp_path / "ledger")):
            pass
    assert associations(ec2) == before


class RefusingMetadataService(ThreadingHTTPServer):
    """A stand-in for the EC2 metadata service on 127.0.0.1 that refuses every token request (HTTP 403)."""


class _Refuse(BaseHTTPRequestHandler):
    def do_PUT(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def refusing_imds():
    server = RefusingMetadataService(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_self_lockout_fails_closed_when_the_metadata_service_refuses_the_token(refusing_imds, monkeypatch):
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    discover = lambda: discover_runner_subnet_ids(timeout_s=2, imds_url=refusing_imds)  # noqa: E731
    with pytest.raises(SafetyRefusal, match="403"):
        discover()
    with pytest.raises(SafetyRefusal, match="cannot tell which subnets the runner uses"):
        runner_subnets([], discover=True, allow_runner_blackhole=False, discovered=discover)
    assert runner_subnets(["subnet-0a"], discover=True, allow_runner_blackhole=False, discovered=discover) == ["subnet-0a"]
    assert runner_subnets([], discover=True, allow_runner_blackhole=True, discovered=discover) == []
    assert runner_subnets([], discover=False, allow_runner_blackhole=False, discovered=discover) == []


def test_an_az_blackhole_is_refused_before_any_change_when_the_runner_subnets_cannot_be_discovered(staging, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    before, acls_before = associations(ec2), acl_ids(ec2)
    path = write_target(tmp_path, target_document(safety={"runner": {"discover": True}}))  # metadata disabled here

    with pytest.raises(SafetyRefusal, match="safety.runner.subnet_ids"):
        print_dry_run(path, ["az-failure"])
    with pytest.raises(SafetyRefusal, match="safety.runner.subnet_ids"):
        AwsDriver(load_aws_target(path)).fault("az-failure", {})
    assert associations(ec2) == before and acl_ids(ec2) == acls_before
    assert Ledger().records() == []
