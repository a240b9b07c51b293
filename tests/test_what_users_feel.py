"""What users feel, on the real lab: the write path's figure agrees with an independent writer, slow
requests fail the gate, and the re-created "waits on a lost zone" flaw is caught with its slow writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import RequestLoop
from zerospof.chaos.runner import ScenarioResult, experiment_path, run_experiment_file
from zerospof.chaos.settings import new_run_id
from zerospof.lab import client
from zerospof.timeline import EventKind

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[1]
READ_LATENCY_S = 0.3  # a sample is stamped when sent; the independent client's clock runs beside it
SLOW_S = 1.0  # objectives.yaml's measurement.slow-request


def run(scenario: str, run_dir: Path, **configuration: str) -> ScenarioResult:
    return run_experiment_file(experiment_path("lab", scenario), {
        "zerospof_run_id": new_run_id(), "zerospof_run_dir": str(run_dir),
        "zerospof_ledger_dir": str(run_dir / "ledger"), **configuration})


def objectives_with(tmp_path: Path, **measurement: str) -> Path:
    data = yaml.safe_load((REPO / "objectives.yaml").read_text())
    data["measurement"].update(measurement)
    path = tmp_path / "objectives.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def check(result: ScenarioResult, measurement: str) -> dict:
    (found,) = [c for c in result.report["checks"] if c["measurement"] == measurement]
    return found


def independent_write(counter: list[int]) -> tuple[bool, str]:
    counter[0] += 1
    try:
        response = client.request("POST", "/write", {"key": f"independent:{counter[0]}", "value": "x"})
    except client.ClientError as exc:
        return False, str(exc)[:120]
    return response.ok, str(response.status)


def independent_downtime_s(loop: RequestLoop, start: float, end: float) -> float:
    """Each bad call (failed, or slower than SLOW_S) counts until the next call was sent, within [start, end]."""
    calls = [(sent, ok and answered - sent <= SLOW_S) for sent, answered, ok, _ in loop.results]
    return sum(max(0.0, min(b[0], end) - max(a[0], start)) for a, b in zip(calls, calls[1:]) if not a[1])


def test_az_failure_reports_the_write_downtime_an_independent_writer_saw(running_lab, tmp_path):
    with RequestLoop(lambda counter=[0]: independent_write(counter), interval_s=0.1, max_calls=3000) as loop:
        result = run("az-failure", tmp_path / "run")
    timeline = result.timeline()
    started = timeline.first_event(EventKind.FAULT_INJECTING).t_mono
    end = timeline.first_event(EventKind.FAIL_BACK) or timeline.first_event(EventKind.FAULT_REVERTED)
    end_mono = min(end.t_mono, timeline.samples_of("writes")[-1].t_mono)
    truth_s = independent_downtime_s(loop, started, end_mono)
    writes = result.report["measurements"]["writes.downtime_s"]
    print(f"\naz-failure writes: measured {writes['value']:.2f}s, independent writer {truth_s:.2f}s "
          f"(resolution {writes['resolution_s']:.2f}s)")
    assert truth_s > 5, "the lost AZ holds the database primary: writes must have failed over"
    # the independent writer is a closed loop: it sends again only once its last failed call answered, so
    # it can see up to that call's answer time more downtime than the open-loop users
    failed = [answered - sent for sent, answered, ok, _ in loop.results if not ok and started <= sent <= end_mono]
    lag_s = failed[-1] if failed else 0.0
    assert abs(writes["value"] - truth_s) <= writes["resolution_s"] + READ_LATENCY_S + lag_s, lag_s
    assert check(result, "reads.downtime_s")["passed"], check(result, "reads.downtime_s")["message"]
    assert check(result, "data-plane.rto_s")["measured"] == result.report["measurements"]["writes.rto_s"]["value"]
    assert result.report["paths"]["writes"]["measured"] and result.report["paths"]["reads"]["measured"]
    assert result.passed, [c["message"] for c in result.report["checks"] if not c["passed"]]


def test_a_slow_request_limit_below_the_labs_normal_latency_fails_the_gate_on_slow_requests(running_lab, tmp_path):
    result = run("control-plane", tmp_path / "run", zerospof_objectives=str(objectives_with(tmp_path, **{
        "slow-request": "1ms"})))
    reads = result.report["paths"]["reads"]
    assert reads["slow_requests"] > 0 and reads["failed_requests"] >= reads["slow_requests"]
    assert not check(result, "reads.downtime_s")["passed"]
    assert not result.passed


def test_the_recreated_wait_on_a_lost_zone_flaw_fails_the_gate_with_the_slow_count(running_lab, tmp_path):
    running_lab.set_app_db_routing("static")  # libpq gets every DB LB node: a lost one costs each request 2 s
    try:
        result = run("az-failure", tmp_path / "run")
    finally:
        running_lab.set_app_db_routing("health-checked")
    # An app that tries the lost DB LB node first answers every request after 2 s. Reads are idempotent: the
    # LB retries one on another app after 450 ms, so users' reads stay inside the slow limit (whatever the
    # read path shows is printed, not asserted). Writes are not retried: each one through such an app is slow,
    # and the write path never recovers, sustained, while the zone is lost: the data plane misses its RTO.
    writes = result.report["paths"]["writes"]
    rto = check(result, "data-plane.rto_s")
    print(f"\nflaw re-created: {rto['message']}; {writes['slow_requests']:g} slow writes; "
          f"{check(result, 'reads.downtime_s')['message']}")
    assert writes["slow_requests"] > 0 and f"{writes['slow_requests']:g} slow" in result_rows_text(result)
    assert not rto["passed"]
    assert not result.passed


def result_rows_text(result: ScenarioResult) -> str:
    from zerospof.report import format_table, result_rows

    return format_table(result_rows({result.scenario: result.report}))
