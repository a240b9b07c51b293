"""The lab leaves nothing behind: after ``down``, and after ``down`` following a supervisor SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import wait_until_clean
from zerospof.lab import Lab, leftovers
from zerospof.lab.configs import PROJECT_ROOT

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zerospof.lab.cli", "lab", *args], capture_output=True,
                          text=True, timeout=120, cwd=PROJECT_ROOT)


def test_cli_up_is_idempotent_and_down_leaves_nothing(lab_dir: Path) -> None:
    try:
        first = _cli("up", "--state-dir", str(lab_dir))
        assert first.returncode == 0, first.stderr
        again = _cli("up", "--state-dir", str(lab_dir))
        assert again.returncode == 0, again.stderr
        status = _cli("status", "--state-dir", str(lab_dir))
        assert status.returncode == 0, status.stdout
        for name in ("cp-etcd-r1-a", "cp-api-r1-a", "cp-sched-r1-a", "cp-cm-r1-b", "kube-node-r2-c", "git-primary",
                     "git-mirror-sync", "gitops-backup", "control-plane", "gitops"):
            assert f"ok   {name} " in status.stdout, status.stdout
        running = leftovers.find(lab_dir)["processes"]  # what "nothing left" below is checked against
        for marker in ("git-daemon --reuseaddr", "--name=cp-etcd-", "kube-apiserver", "kube-scheduler",
                       "kube-controller-manager", "zerospof.lab.kube.node_agent",
                       "gitops.reconciler", "gitops.mirror"):
            assert any(marker in process["cmdline"] for process in running), marker
        print("\n" + first.stdout)
    finally:
        down = _cli("down", "--state-dir", str(lab_dir))
    assert down.returncode == 0, down.stderr
    assert _cli("status", "--state-dir", str(lab_dir)).returncode != 0
    assert wait_until_clean() == {"processes": [], "namespaces": [], "links": [], "iptables": []}


def test_down_after_supervisor_sigkill_leaves_nothing(lab_dir: Path) -> None:
    lab = Lab(lab_dir)
    try:
        lab.up()
        pid = lab.supervisor.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert not lab.status()["healthy"]
    finally:
        lab.down()
    assert wait_until_clean() == {"processes": [], "namespaces": [], "links": [], "iptables": []}


def test_down_finds_a_supervisor_whose_pid_file_is_gone(lab_dir: Path) -> None:
    lab = Lab(lab_dir)
    try:
        lab.up()
        (lab_dir / "supervisor.pid").unlink()  # e.g. a run killed while the state dir was cleaned
        assert any("zerospof.lab.supervisor" in p["cmdline"] for p in leftovers.find(lab_dir)["processes"])
    finally:
        lab.down()
    assert wait_until_clean() == {"processes": [], "namespaces": [], "links": [], "iptables": []}


def test_the_later_kube_apiservers_start_once_the_first_is_ready(lab_dir: Path) -> None:
    """Started together on a new etcd, the kube-apiservers race to create the default Service's ClusterIP; a loser's
    post-start hook never finishes and it exits after 60 s (kubernetes#141220), failing ``lab up``."""
    lab = Lab(lab_dir)
    try:
        steps = lab.up()["steps_s"]
        states = lab.supervisor.status()
    finally:
        lab.down()
    assert "cp-api-r1-a to be ready" in steps, steps
    assert steps["cp-api-r1-a to be ready"] > steps["Patroni's etcd to elect a leader"], steps  # after the first
    assert {name: states[name]["starts"] for name in ("cp-api-r1-a", "cp-api-r1-b", "cp-api-r1-c")} == {
        "cp-api-r1-a": 1, "cp-api-r1-b": 1, "cp-api-r1-c": 1}
    assert wait_until_clean() == {"processes": [], "namespaces": [], "links": [], "iptables": []}
