"""The supervisor restarts a component that exits with an error by itself, when its spec says ``on-failure``,
and never one it was asked to kill (faults decide what stays down)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import scratch_namespace, wait_for
from zerospof.lab.control import SupervisorClient

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[SupervisorClient]:
    with scratch_namespace() as namespace:
        common = {"namespace": namespace, "user": "root", "cwd": str(tmp_path)}
        spec = {"fails": {**common, "argv": ["sh", "-c", "sleep 0.2; exit 3"], "restart": "on-failure"},
                "fails-plain": {**common, "argv": ["sh", "-c", "sleep 0.2; exit 3"]},
                "runs": {**common, "argv": ["sleep", "60"], "restart": "on-failure"}}
        (tmp_path / "spec.json").write_text(json.dumps({"components": spec}))
        client = SupervisorClient(tmp_path)
        try:
            subprocess.run([sys.executable, "-m", "zerospof.lab.supervisor", "--state-dir", str(tmp_path), "--daemonize"],
                           cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, check=True, timeout=20)
            yield client
        finally:
            pid = client.pid()
            if client.alive():
                client.shutdown()
            if pid is not None:
                wait_for(lambda: not Path(f"/proc/{pid}").exists(), 5, 0.05)


def test_an_on_failure_component_that_exits_with_an_error_is_started_again_and_a_killed_one_is_not(
        supervisor: SupervisorClient, tmp_path: Path) -> None:
    supervisor.start(["fails", "fails-plain", "runs"])
    pending, _ = wait_for(lambda: supervisor.status()["fails"]["restart_pending"], 5, 0.05)  # exited, 1 s to go
    assert pending and not supervisor.status()["fails-plain"]["restart_pending"]  # lab up tells them apart
    restarted, waited = wait_for(lambda: supervisor.status()["fails"]["starts"] >= 2, 5, 0.05)
    assert restarted, supervisor.status()["fails"]
    assert "exited with code 3; restarting in 1s" in (tmp_path / "logs" / "fails.log").read_text()
    supervisor.kill(["runs", "fails"])
    states = supervisor.status()
    starts = {name: states[name]["starts"] for name in states}
    wait_for(lambda: False, 3.5, 0.5)  # longer than the longest restart delay so far (1 s, then 2 s)
    states = supervisor.status()
    assert not states["runs"]["running"] and states["runs"]["starts"] == starts["runs"] == 1
    assert not states["fails"]["running"] and states["fails"]["starts"] == starts["fails"]  # kill cancels a pending restart
    assert not states["fails"]["restart_pending"]
    assert states["fails-plain"]["starts"] == 1 and states["fails-plain"]["exit_code"] == 3
    print(f"\nrestarted {waited:.2f}s after its first start (exit after 0.2 s + 1 s delay)")
