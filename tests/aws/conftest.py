"""Fixtures for AWS tests: fake credentials, moto (in-process or a server on 127.0.0.1), a tagged VPC.

A socket guard makes any connection to a non-loopback address fail the test, so no real AWS
endpoint (nor the EC2 metadata service) can be reached by accident. The one exception is opt-in:
a test marked ``real_cluster`` when ``--real-target PATH`` (or ``$ZEROSPOF_REAL_TARGET``) names a
target file runs with the process's own network and credentials (``real_account``).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws
from moto.server import ThreadedMotoServer

from tests.aws.moto_world import REGION, make_staging_vpc
from tests.aws.real_account import (
    RealAccount, contract_path, load_real_contract, real_target_path, skip_reason,
)
from tests.helpers import loopback_only_connect
from zerospof.aws.clients import AwsClients
from zerospof.aws.safety import check_account_allowed
from zerospof.aws.target import load_aws_target


def reaches_real_account(request: pytest.FixtureRequest) -> bool:
    """True for a test marked ``real_cluster`` when a real target file is given: its guards are off."""
    return request.node.get_closest_marker("real_cluster") is not None and real_target_path(request.config) is not None


@pytest.fixture(autouse=True)
def loopback_only_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection to a non-loopback address during each test of this directory (only)."""
    if reaches_real_account(request):
        return
    monkeypatch.setattr(socket.socket, "connect", loopback_only_connect)


@pytest.fixture(autouse=True)
def fake_aws_environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region; no profile, config file, endpoint override or metadata service."""
    monkeypatch.setenv("ZEROSPOF_LEDGER_DIR", str(tmp_path / "ledger"))
    if reaches_real_account(request):
        return
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # the suite needs no AMI; loading them is slow
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def real_account(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> RealAccount:
    """The real account of ``--real-target``, its caller checked against ``aws.allowed_account_ids``.

    Skips the test when no target file is given. The files are validated and the account checked
    before the test touches anything; a bad file or another account fails the test.
    """
    path = real_target_path(request.config)
    if path is None:
        pytest.skip(skip_reason())
    if request.node.get_closest_marker("real_cluster") is None:
        pytest.fail("a test reaching the real account must be marked real_cluster (its guards stay on otherwise)")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a fresh session (chaosaws uses it too): not a fake test's
    target = load_aws_target(path)
    contract = load_real_contract(contract_path(path), target)
    clients = AwsClients()
    check_account_allowed(clients.client("sts", target.primary_region), target.allowed_account_ids)
    return RealAccount(target, contract, clients)


@pytest.fixture
def aws() -> Iterator[None]:
    """Run the test inside moto's in-process AWS."""
    with mock_aws():
        yield


@pytest.fixture
def staging(aws: None) -> dict[str, Any]:
    """A tagged staging VPC in moto."""
    return make_staging_vpc(boto3.client("ec2", region_name=REGION))


@pytest.fixture
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 (its state outlives a SIGKILLed child process); yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=5)
    yield endpoint
    requests.post(f"{endpoint}/moto-api/reset", timeout=5)
    server.stop()


class Endpoint(ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 standing in for the user-facing endpoint; ``status`` and ``body`` are what it answers."""

    daemon_threads = True
    status = 200
    body = b'{"ok": true}'
    hits = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/healthz"


class _EndpointHandler(BaseHTTPRequestHandler):
    server: Endpoint

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
        self.server.hits += 1
        body = self.server.body
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    """The user-facing endpoint: a stdlib HTTP server on 127.0.0.1 answering ``GET /healthz``."""
    server = Endpoint(("127.0.0.1", 0), _EndpointHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="endpoint", daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)
