"""A daemon the supervisor forks from its preloaded modules behaves like the same daemon exec'd.

Both run from one spec in a scratch network namespace: same namespace, environment, arguments,
log file, signal dispositions, exit code, and a SIGTERM ends them the same way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import scratch_namespace, wait_for
from zerospof.lab.control import SupervisorClient

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
DAEMON = '''
import json, os, signal, sys, time

def main(argv):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print(json.dumps({"argv": argv, "mark": os.environ.get("ZS_MARK"), "path_set": "PATH" in os.environ,
                      "netns": os.stat("/proc/self/ns/net").st_ino, "uid": os.getuid(),
                      "sigint_default": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
                      "sighup": str(signal.getsignal(signal.SIGHUP))}), flush=True)
    deadline = time.monotonic() + 60
    while not stop and time.monotonic() < deadline:
        time.sleep(0.05)
    print("stopping", flush=True)
    return int(argv[-1])

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


@pytest.fixture
def supervisor(tmp_path: Path):
    (tmp_path / "zs_preload_probe.py").write_text(DAEMON)
    argv = [sys.executable, "-S", "-m", "zs_preload_probe", "--flag", "7"]
    with scratch_namespace() as namespace:
        common = {"namespace": namespace, "user": "root", "cwd": str(tmp_path),
                  "env": {"ZS_MARK": "hello", "PYTHONPATH": str(tmp_path)}}
        spec = {"forked": {**common, "argv": argv, "preload": "zs_preload_probe"}, "execd": {**common, "argv": argv}}
        (tmp_path / "spec.json").write_text(json.dumps({"components": spec}))
        client = SupervisorClient(tmp_path)
        try:
            subprocess.run([sys.executable, "-m", "zerospof.lab.supervisor", "--state-dir", str(tmp_path), "--daemonize"],
                           cwd=REPO, env={**os.environ, "PYTHONPATH": f"{REPO}:{tmp_path}"}, check=True, timeout=20)
            yield client
        finally:
            pid = client.pid()
            if client.alive():
                client.shutdown()  # SIGKILLs everything in the namespace, then exits
            if pid is not None:
                wait_for(lambda: not Path(f"/proc/{pid}").exists(), 5, 0.05)


def reported(state_dir: Path, name: str) -> dict:
    lines = (state_dir / "logs" / f"{name}.log").read_text().splitlines()
    return json.loads(next(line for line in lines if line.startswith("{")))


def test_a_forked_daemon_runs_like_the_execd_one_and_stops_alike(supervisor: SupervisorClient) -> None:
    supervisor.start(["forked", "execd"])
    logged, _ = wait_for(lambda: all(
        (supervisor.state_dir / "logs" / f"{n}.log").read_text().count("{") for n in ("forked", "execd")), 20, 0.1)
    assert logged, "both daemons print what they see at start"
    forked, execd = reported(supervisor.state_dir, "forked"), reported(supervisor.state_dir, "execd")
    assert forked == execd
    assert forked["argv"] == ["--flag", "7"] and forked["mark"] == "hello" and forked["sigint_default"]
    assert forked["netns"] != os.stat("/proc/self/ns/net").st_ino  # in the scratch namespace, not ours
    states = supervisor.status()
    assert Path(f"/proc/{states['forked']['pid']}/comm").read_text().strip() == "forked"
    assert b"zs_preload_probe" in Path(f"/proc/{states['execd']['pid']}/cmdline").read_bytes()

    supervisor.terminate(["forked", "execd"], timeout_s=5)
    states = supervisor.status()
    assert not states["forked"]["running"] and not states["execd"]["running"]
    assert states["forked"]["exit_code"] == states["execd"]["exit_code"] == 7
    for name in ("forked", "execd"):
        assert (supervisor.state_dir / "logs" / f"{name}.log").read_text().rstrip().endswith("stopping")


def test_a_forked_daemon_killed_with_sigkill_is_reported_like_the_execd_one(supervisor: SupervisorClient) -> None:
    supervisor.start(["forked", "execd"])
    running, _ = wait_for(lambda: all(s["running"] for s in supervisor.status().values()), 10, 0.05)
    assert running
    time.sleep(0.3)
    supervisor.kill(["forked", "execd"])
    states, _ = wait_for(lambda: (lambda s: s if not any(c["running"] for c in s.values()) else None)(
        supervisor.status()), 5, 0.05)
    assert states and states["forked"]["exit_code"] == states["execd"]["exit_code"] == -signal.SIGKILL
