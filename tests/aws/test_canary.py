"""The AWS target's write canary against a real, throwaway PostgreSQL on 127.0.0.1 (standing in for Aurora)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.aws.moto_world import REGION, target_document, write_target
from zerospof.aws.driver import AwsDriver
from zerospof.aws.target import load_aws_target
from zerospof.errors import TargetError
from zerospof.objectives import load_objectives
from zerospof.scenario import WRITE_CANARY
from zerospof.timeline import Timeline

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path(shutil.which("initdb") or "/nonexistent").resolve().parent


def _as_postgres(*command: str) -> None:
    subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", *command],
                   check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of its own (it refuses to run as root: it runs as the postgres user, in a /tmp it can reach)."""
    if os.geteuid() != 0 or not (PG_BIN / "pg_ctl").exists() or shutil.which("setpriv") is None:
        pytest.skip("needs root, setpriv and the PostgreSQL server binaries")
    home = Path(tempfile.mkdtemp(prefix="zerospof-canary-pg-"))
    shutil.chown(home, "postgres", "postgres")
    data, port = home / "data", "55433"
    ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data)]
    try:
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off"
        _as_postgres(*ctl, "-o", options, "-l", str(home / "server.log"), "-w", "start")  # the log keeps our pipes free
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", *ctl, "-m", "immediate",
                            "stop"], capture_output=True, timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def driver_with_canary(tmp_path: Path) -> AwsDriver:
    document = target_document(data_canary={"postgres": {"dsn_env": "ZEROSPOF_CANARY_DSN", "table": "zs_canary"}},
                               detection={"cloudwatch_alarms": [{"region": REGION, "name": "app-5xx"}]})
    document.pop("kubernetes")
    return AwsDriver(load_aws_target(write_target(tmp_path, document)))


def test_the_write_canary_acknowledges_sequenced_rows_and_reads_back_only_its_own_run(aws, postgres, tmp_path, monkeypatch):
    monkeypatch.setenv("ZEROSPOF_CANARY_DSN", postgres)
    driver = driver_with_canary(tmp_path)
    objectives = load_objectives(REPO / "objectives.yaml")
    writers = {}
    for run_id in ("run-1", "run-2"):
        monitoring = driver.monitoring("region-failure", Timeline(), objectives, run_id)
        [writers[run_id]] = [s for s in monitoring.samplers if s.name == WRITE_CANARY]

    acknowledged = [writers["run-1"].probe() for _ in range(5)]
    writers["run-2"].probe()

    assert [answer["seq"] for answer in acknowledged] == list(range(5))
    assert all(answer["acked_mono"] <= time.monotonic() for answer in acknowledged)
    assert driver.read_back("run-1") == [0, 1, 2, 3, 4]
    assert driver.read_back("run-2") == [0]
    assert driver.read_back("run-3") == []


def test_a_write_on_a_lost_connection_is_not_acknowledged_and_the_next_one_reconnects(aws, postgres, tmp_path,
                                                                                      monkeypatch):
    import psycopg

    monkeypatch.setenv("ZEROSPOF_CANARY_DSN", postgres)
    driver = driver_with_canary(tmp_path)
    monitoring = driver.monitoring("region-failure", Timeline(), load_objectives(REPO / "objectives.yaml"), "run-lost")
    [writer] = [s for s in monitoring.samplers if s.name == WRITE_CANARY]
    assert writer.probe()["seq"] == 0
    with psycopg.connect(postgres, autocommit=True) as admin:  # what a failover does to the writer's connection
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
    with pytest.raises(TargetError, match="canary write 1"):
        writer.probe()
    assert writer.probe()["seq"] == 2
    assert driver.read_back("run-lost") == [0, 2]
    for hook in monitoring.stop_hooks:
        hook()


def test_reading_back_from_an_unreachable_database_fails_rather_than_reporting_every_write_lost(aws, tmp_path,
                                                                                                monkeypatch):
    monkeypatch.setenv("ZEROSPOF_CANARY_DSN", "postgresql://postgres@127.0.0.1:1/postgres")
    with pytest.raises(TargetError, match="canary read-back"):
        driver_with_canary(tmp_path).read_back("run-1")
