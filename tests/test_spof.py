"""The SPOF sweep: the pure per-member verdict, and on the real lab a sweep that finds a re-created SPOF."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from zerospof.lab.controlplane.layout import NODE_GRACE_S
from zerospof.measure import Measurement
from zerospof.objectives import load_objectives
from zerospof.spof import LAYER_CHECK, LayerCheck, Member, Outcome, layer_outcome, member_verdict, unobserved
from zerospof.timeline import EventKind, Sample, Timeline

REPO = Path(__file__).resolve().parents[1]
ZEROSPOF = REPO / ".venv" / "bin" / "zerospof"
OBJECTIVES = load_objectives(REPO / "objectives.yaml")


def _path(prefix: str, downtime_s: float | None, bad: int = 0, slow: int = 0, rto_s: float | None = 0.0) -> dict:
    def m(name: str, value: float | None, unit: str = "s") -> Measurement:
        return Measurement(f"{prefix}.{name}", value, unit, 0.1, {} if value is not None else {"reason": "no samples"})
    return {f"{prefix}.downtime_s": m("downtime_s", downtime_s), f"{prefix}.rto_s": m("rto_s", rto_s),
            f"{prefix}.failed_requests": m("failed_requests", float(bad), "requests"),
            f"{prefix}.slow_requests": m("slow_requests", float(slow), "requests")}


def test_a_member_whose_loss_no_user_felt_is_redundant():
    found = {**_path("reads", 0.0), **_path("writes", 0.0)}
    result = member_verdict(Member("dns1", "dns", "dns"), found, OBJECTIVES, 6.0, {"reads": True, "writes": True})
    assert result.outcome is Outcome.REDUNDANT


def test_a_member_whose_loss_users_felt_within_the_layers_objectives_is_degraded_with_the_figures():
    found = {**_path("reads", 0.0), **_path("writes", 21.5, bad=215, rto_s=21.6)}
    result = member_verdict(Member("pg-r1-a", "data", "pg"), found, OBJECTIVES, 27.0, {"reads": True, "writes": True})
    assert result.outcome is Outcome.DEGRADED
    assert result.figures["writes"]["downtime_s"] == 21.5 and result.figures["writes"]["budget_consumed"] < 0.1


def test_a_member_whose_loss_users_did_not_recover_from_while_it_was_down_is_a_spof():
    found = {**_path("reads", 9.0, bad=180, rto_s=10.2), **_path("writes", 0.0)}
    result = member_verdict(Member("dns1", "dns", "dns"), found, OBJECTIVES, 10.0, {"reads": False, "writes": True})
    assert result.outcome is Outcome.SPOF and "reads: users did not recover while dns1 was down" in result.reasons[0]


def test_a_member_whose_users_recovered_later_than_the_layers_rto_is_a_spof():
    found = {**_path("reads", 12.0, bad=240, rto_s=12.5), **_path("writes", 0.0)}
    result = member_verdict(Member("dns1", "dns", "dns"), found, OBJECTIVES, 20.0, {"reads": True, "writes": True})
    assert result.outcome is Outcome.SPOF and "RTO objective" in result.reasons[0]  # DNS: < 10 s


def test_a_member_whose_run_the_harness_did_not_observe_throughout_is_not_judged():
    found = {**_path("reads", 10.6, bad=200, rto_s=10.7), **_path("writes", 0.0)}
    result = member_verdict(Member("dns1", "dns", "dns"), found, OBJECTIVES, 20.0, {"reads": True, "writes": True})
    assert result.outcome is Outcome.SPOF  # what the samples say: but 10.6 s of it nobody observed
    stalled = Measurement("observer_stalled_s", 10.6, "s", 0.1, {"stalls": [[100.0, 110.6]]})
    judged = unobserved(result, stalled)
    assert judged.outcome is Outcome.ERROR and judged.figures["observer_stalled_s"] == 10.6
    assert "not running for 10.6s" in judged.reasons[0] and "it would have been spof" in judged.reasons[0]
    for value in (0.0, None):  # observed throughout, or not known (no heartbeat): the verdict stands
        assert unobserved(result, Measurement("observer_stalled_s", value, "s", 0.1)) is result


def test_a_member_with_no_user_path_measured_is_not_judged_rather_than_redundant():
    found = {**_path("reads", None), **_path("writes", None)}
    result = member_verdict(Member("dns1", "dns", "dns"), found, OBJECTIVES, 6.0, {})
    assert result.outcome is Outcome.ERROR



def _layer(recovered_s: float | None) -> dict:
    return {"checked": True, "check": "a scheduler other than cp-sched-r1-a holds the lease",
            "recovered_s": recovered_s, "resolution_s": 0.5, "samples": 20, "last": {"ok": False, "holder": None}}


def test_a_member_no_user_felt_whose_layer_never_took_its_job_over_is_a_spof_not_redundant():
    found = {**_path("reads", 0.0), **_path("writes", 0.0)}
    result = member_verdict(Member("cp-sched-r1-a", "control", "cp-scheduler"), found, OBJECTIVES, 60.0,
                            {"reads": True, "writes": True}, _layer(None))
    assert result.outcome is Outcome.SPOF
    assert "never held while cp-sched-r1-a was down" in result.reasons[0]


def test_a_member_whose_layer_took_over_later_than_the_layers_rto_is_a_spof():
    found = {**_path("reads", 0.0), **_path("writes", 0.0)}
    result = member_verdict(Member("cp-sched-r1-a", "control", "cp-scheduler"), found, OBJECTIVES, 60.0,
                            {"reads": True, "writes": True}, _layer(75.0))  # control plane: < 60 s
    assert result.outcome is Outcome.SPOF and "RTO objective" in result.reasons[0]


def test_redundant_says_when_the_layer_took_over_or_that_it_was_not_checked():
    found = {**_path("reads", 0.0), **_path("writes", 0.0)}
    member = Member("cp-sched-r1-a", "control", "cp-scheduler")
    checked = member_verdict(member, found, OBJECTIVES, 8.0, {"reads": True, "writes": True}, _layer(6.5))
    assert checked.outcome is Outcome.REDUNDANT and "held 6.5s after the loss" in checked.reasons[0]
    assert checked.figures["layer"]["recovered_s"] == 6.5
    unchecked = member_verdict(member, found, OBJECTIVES, 6.0, {"reads": True, "writes": True})
    assert unchecked.outcome is Outcome.REDUNDANT and "the layer was not checked" in unchecked.reasons[0]
    assert unchecked.figures["layer"] == {"checked": False, "reason": "the target has no layer check"}


def _check(ok: bool, value: dict | None, t_mono: float, error: str | None = None) -> Sample:
    return Sample(LAYER_CHECK, t_mono, t_mono, ok, value, error)


def test_layer_outcome_is_the_first_held_reading_after_the_loss_and_before_the_revert():
    timeline = Timeline()
    timeline.add_sample(_check(True, {"ok": True}, 99.5))  # before the loss: says nothing
    timeline.event(EventKind.FAULT_VERIFIED, "member-kill", t_mono=100.0)
    timeline.add_sample(_check(True, {"ok": False, "holder": "cp-sched-r1-a"}, 100.5))
    timeline.add_sample(_check(False, None, 101.0, error="TimeoutError"))
    timeline.add_sample(_check(True, {"ok": True, "holder": "cp-sched-r1-b"}, 107.0))
    timeline.event(EventKind.FAULT_REVERTING, "member-kill", t_mono=110.0)
    outcome = layer_outcome(timeline, LayerCheck("a live scheduler leads", lambda: {}))
    assert outcome["recovered_s"] == 7.0 and outcome["samples"] == 3
    never = Timeline()
    never.event(EventKind.FAULT_VERIFIED, "member-kill", t_mono=100.0)
    never.add_sample(_check(True, {"ok": False}, 100.5))
    never.event(EventKind.FAULT_REVERTING, "member-kill", t_mono=110.0)
    never.add_sample(_check(True, {"ok": True}, 110.5))  # after the revert: the member itself is back
    assert layer_outcome(never, LayerCheck("a live scheduler leads", lambda: {}))["recovered_s"] is None


# -- on the lab ---------------------------------------------------------------------------------------
def _spof(tmp_path: Path, *members: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``zerospof spof`` on the running lab for ``members`` (an item starting with ``--`` and the one
    after it are passed as an option)."""
    args = [str(ZEROSPOF), "spof", "--keep-lab", "--reports", str(tmp_path)]
    items = iter(members)
    for item in items:
        args += [item, next(items)] if item.startswith("--") else ["--member", item]
    completed = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600,
                               env={**os.environ, "ZEROSPOF_LEDGER_DIR": str(tmp_path / "ledger")})
    [report] = list(tmp_path.glob("*-spof/spof.json"))
    return completed, json.loads(report.read_text())


def _outcomes(document: dict) -> dict[str, str]:
    return {entry["member"]["name"]: entry["outcome"] for entry in document["members"]}


@pytest.mark.lab
def test_the_normal_lab_has_no_spof_and_the_primarys_loss_shows_its_real_write_downtime(running_lab, tmp_path):
    completed, document = _spof(tmp_path, "lb-r1-a", "pg-r1-a")
    print("\n" + completed.stdout[-1500:])
    outcomes = _outcomes(document)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert outcomes == {"lb-r1-a": "redundant", "pg-r1-a": "degraded"}
    [primary] = [e for e in document["members"] if e["member"]["name"] == "pg-r1-a"]
    assert primary["figures"]["writes"]["downtime_s"] > 5  # Patroni's ttl floor: writes really fail over
    assert not any((tmp_path / "ledger").glob("*.json")) or all(
        json.loads(p.read_text())["state"] == "reverted" for p in (tmp_path / "ledger").glob("*.json"))
    assert running_lab.status()["healthy"]


@pytest.mark.lab
def test_a_lost_node_agent_is_redundant_once_the_node_lifecycle_controller_marks_its_node_not_ready(
        running_lab, tmp_path):
    """The compute layer's job for a lost node agent is the real node lifecycle controller's: its Node goes
    not Ready after the monitor grace period. The layer check waits for that; it does not hold at once."""
    completed, document = _spof(tmp_path, "kube-node-r1-a")
    print("\n" + completed.stdout[-1000:])
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    [entry] = document["members"]
    took_over = entry["figures"]["layer"]["recovered_s"]
    assert entry["outcome"] == "redundant" and took_over is not None, entry
    assert NODE_GRACE_S / 2 < took_over < NODE_GRACE_S + 20, took_over  # the grace, seen within a few samples
    assert running_lab.status()["healthy"]


@pytest.mark.lab
def test_a_re_created_spof_makes_the_sweep_exit_1_naming_that_member(running_lab, tmp_path):
    """Re-created flaw: DNS answers one LB node by a plain record, no health check. Losing that node takes
    every user down while it is down; the other DNS provider stays redundant."""
    running_lab.set_dns_answers("pinned")
    try:
        completed, document = _spof(tmp_path, "lb-r1-a", "dns2")
    finally:
        running_lab.set_dns_answers("health-checked")
    print("\n" + completed.stdout[-1500:])
    assert completed.returncode == 1
    assert _outcomes(document) == {"lb-r1-a": "spof", "dns2": "redundant"}
    assert "SPOF: lb-r1-a" in completed.stdout
    assert (tmp_path / next(tmp_path.glob("*-spof")).name / "junit.xml").exists()



@pytest.mark.lab
def test_a_member_whose_layer_never_takes_its_job_over_is_a_spof(running_lab, tmp_path):
    """Re-created flaw: apps decrypt with their own region's key service only (no replica fallback).
    Losing sec-r1 must be a SPOF: the layer check (every r1 app decrypting again) never holds."""
    running_lab.set_app_key_services("own-region-only")
    try:
        completed, document = _spof(tmp_path, "sec-r1", "--max-hold", "12")
    finally:
        running_lab.set_app_key_services("with-replica")
    print("\n" + completed.stdout[-1500:])
    assert completed.returncode == 1, completed.stdout[-2000:] + completed.stderr[-2000:]
    [entry] = document["members"]
    assert entry["outcome"] == "spof"
    assert entry["figures"]["layer"]["recovered_s"] is None
    assert any("decrypted its credential again after sec-r1 was lost never held" in r for r in entry["reasons"])


@pytest.mark.lab
def test_sigint_in_the_middle_of_a_sweep_restores_the_member_under_test(running_lab, tmp_path):
    process = subprocess.Popen([str(ZEROSPOF), "spof", "--keep-lab", "--member", "cp-etcd-r1-b",
                                "--reports", str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "ZEROSPOF_LEDGER_DIR": str(tmp_path / "ledger")})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not running_lab.supervisor.status()["cp-etcd-r1-b"]["running"] is False:
            time.sleep(0.1)  # bounded: until the member is down
        assert running_lab.supervisor.status()["cp-etcd-r1-b"]["running"] is False, "the member was never failed"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0, output
    assert running_lab.supervisor.status()["cp-etcd-r1-b"]["running"], output[-2000:]
    records = [json.loads(p.read_text()) for p in (tmp_path / "ledger").glob("*.json")]
    assert records and all(record["state"] == "reverted" for record in records)


@pytest.mark.lab
def test_after_sigkill_in_the_middle_of_a_sweep_zerospof_revert_restores_the_member(running_lab, tmp_path):
    env = {**os.environ, "ZEROSPOF_LEDGER_DIR": str(tmp_path / "ledger")}
    process = subprocess.Popen([str(ZEROSPOF), "spof", "--keep-lab", "--member", "dns2", "--reports", str(tmp_path)],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and running_lab.supervisor.status()["dns2"]["running"] is not False:
            time.sleep(0.1)  # bounded: until the member is down
        assert running_lab.supervisor.status()["dns2"]["running"] is False, "the member was never failed"
        process.kill()  # no handler runs: the fault stays in the lab
        process.wait(timeout=10)
        time.sleep(1)
        assert running_lab.supervisor.status()["dns2"]["running"] is False, "SIGKILL must leave the fault"
        [record] = [json.loads(p.read_text()) for p in (tmp_path / "ledger").glob("*.json")]
        assert record["state"] != "reverted"
    finally:
        if process.poll() is None:
            process.kill()
        reverted = subprocess.run([str(ZEROSPOF), "revert"], cwd=REPO, capture_output=True, text=True,
                                  timeout=120, env=env)
    assert reverted.returncode == 0, reverted.stdout + reverted.stderr
    assert "reverted" in reverted.stdout, reverted.stdout
    assert running_lab.supervisor.status()["dns2"]["running"]
    records = [json.loads(p.read_text()) for p in (tmp_path / "ledger").glob("*.json")]
    assert records and all(record["state"] == "reverted" for record in records)


def test_implied_availability_multiplies_measured_downtime_by_assumed_failure_rates():
    from zerospof.spof import MemberResult, implied_availability

    primary = MemberResult(Member("pg-r1-a", "data", "pg"), Outcome.DEGRADED, (),
                           {"reads": {"measured": True, "downtime_s": 0.0},
                            "writes": {"measured": True, "downtime_s": 21.0, "fail_back_downtime_s": 1.0}})
    found = implied_availability([primary], {"pg": 2.0}, OBJECTIVES)
    assert found["paths"]["writes"]["expected_downtime_s_per_year"] == 44.0
    assert found["paths"]["writes"]["availability"] == 1 - 44.0 / (365 * 24 * 3600)
    assert found["paths"]["writes"]["passed"]  # 99.99986% >= 99.99%
    unknown = implied_availability([primary], {}, OBJECTIVES)  # no assumed rate for pg: unknown, never 100%
    assert unknown["paths"]["writes"]["availability"] is None


def test_the_cli_offers_exactly_the_seeds_checklist_layers():
    from zerospof.spof import SEED_LAYERS
    from zerospof.spof_cli import LAYERS

    assert LAYERS == tuple(SEED_LAYERS)


def test_the_matrix_never_shows_0_for_what_was_not_measured_or_never_recovered():
    from zerospof.spof import MemberResult
    from zerospof.spof_cli import matrix_table

    never = MemberResult(Member("dns1", "dns", "dns"), Outcome.SPOF, ("x",), {
        "reads": {"measured": True, "downtime_s": 9.0, "bad_requests": 90.0, "slow_requests": 0.0, "rto_s": None},
        "writes": {"measured": False, "reason": "no samples"}})
    row = matrix_table([never]).splitlines()[-1]
    assert "not recovered" in row and "| 0/-" in row and "| -  " in row
