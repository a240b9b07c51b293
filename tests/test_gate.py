"""The gate's figures are real: the same scenario passes on the normal lab and fails, with the right
figure, when the lab is made worse on purpose; and the pytest scenario layer writes JUnit and Allure."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml

from tests.helpers import judged
from zerospof.chaos.runner import ScenarioResult, experiment_path, run_experiment_file
from zerospof.chaos.settings import new_run_id
from zerospof.faults.ledger import Ledger, RecordState
from zerospof.history import RunRecord
from zerospof.lab.network import replication_cap_kbit
from zerospof.lab.topology import REGIONS
from zerospof.regression import baseline_figures, compare

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[1]
REGION_2 = REGIONS[1]
REPLICATION_CAP_KBIT = 8  # far below what the write canary produces: the DR replica falls behind


@pytest.fixture(scope="module")
def strict_objectives(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's objectives with region failure tightened to lose nothing (RPO exactly 0)."""
    data = yaml.safe_load((REPO / "objectives.yaml").read_text())
    data["scenarios"]["region-failure"]["rpo"] = "0"
    path = tmp_path_factory.mktemp("objectives") / "objectives.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run_region_failure(objectives: Path, run_dir: Path) -> ScenarioResult:
    return run_experiment_file(experiment_path("lab", "region-failure"), {
        "zerospof_objectives": str(objectives), "zerospof_run_id": new_run_id(), "zerospof_run_dir": str(run_dir),
        "zerospof_ledger_dir": str(run_dir / "ledger"), "zerospof_baseline": "6s",
    })


def lift_cap_once_cut_off(lab, ledger_dir: Path, stop: threading.Event, lifted: dict, limit_s: float = 300.0) -> None:
    """Remove the replication cap as soon as the run's ledger shows the region loss in effect (t0).

    From then on the cap changes nothing the run measures (the primary region is cut off), but left on
    it would throttle the standby's catch-up and the switchover back after the revert past the rollback's
    120 s heal wait. The ledger, not the timeline: the run adds the fault's steps to its timeline only at
    the end (once lifted at t0 + 96 s, and the heal failed or barely passed).
    Bounded: gives up after ``limit_s`` or when ``stop`` is set; the caller lifts the cap anyway.
    ``lifted`` gets the wall time of the lift and the cap seen right after it.
    """
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and not stop.is_set():
        if any(step["state"] == RecordState.VERIFIED for record in Ledger(ledger_dir).records()
               for step in record.data.get("steps", [])):
            lab.set_replication_cap(None)
            lifted.update(at_wall=time.time(), cap_after=replication_cap_kbit(REGION_2))
            return
        stop.wait(0.2)


def check(result: ScenarioResult, measurement: str) -> dict:
    (found,) = [c for c in result.report["checks"] if c["measurement"] == measurement]
    return found


@pytest.fixture(scope="module")
def normal_run(running_lab, strict_objectives: Path, tmp_path_factory: pytest.TempPathFactory) -> ScenarioResult:
    """Region failure on the lab as it is: the baseline the throttled run is compared with."""
    runs = tmp_path_factory.mktemp("normal")
    attempts = iter(range(1, 3))
    result = judged(lambda: run_region_failure(strict_objectives, runs / f"normal-{next(attempts)}"),
                    lambda result: result.report)
    if not result.passed:  # the lab's own account, kept beside the run: the next lab overwrites its logs
        shutil.copytree(running_lab.state_dir / "logs", result.run_dir / "lab-logs")
    return result


def as_run(result: ScenarioResult) -> RunRecord:
    return RunRecord(str(result.run_dir), str(result.run_dir), "lab", {result.scenario: result.report})


def regressed_figures(result: ScenarioResult, baseline: ScenarioResult) -> set[str]:
    figures = compare(as_run(result).scenarios, baseline_figures([as_run(baseline)], "last", [result.scenario]))
    return {f.figure for f in figures if f.regressed}


def test_region_failure_passes_a_zero_rpo_gate_on_the_normal_lab(normal_run):
    result = normal_run
    assert not regressed_figures(result, result)  # the normal run against itself
    rpo = check(result, "rpo_s")
    assert rpo["measured"] == 0, rpo["message"]
    assert result.passed, [c["message"] for c in result.report["checks"] if not c["passed"]]
    security = result.report["layers"]["security"]["figures"]["rto_s"]
    assert security["value"] is not None, security  # the standby region decrypted with its replica, timed
    print(f"\nsecurity layer: every surviving replica decrypting {security['value']:.2f}s after t0")
    print(f"\nnormal lab: {rpo['message']}; acked before t0: "
          f"{result.report['measurements']['rpo_s']['detail']['acked_before_t0']}")


def test_region_failure_fails_the_gate_with_the_real_rpo_when_replication_is_throttled(
        running_lab, strict_objectives, normal_run, tmp_path):
    run_dir, stop, lifted = tmp_path / "throttled", threading.Event(), {}
    lifter = threading.Thread(target=lift_cap_once_cut_off, args=(running_lab, run_dir / "ledger", stop, lifted))
    try:
        running_lab.set_replication_cap(REPLICATION_CAP_KBIT)  # inside: a cap half set up is removed too
        lifter.start()
        result = run_region_failure(strict_objectives, run_dir)
    finally:
        stop.set()
        if lifter.is_alive():
            lifter.join()
        running_lab.set_replication_cap(None)
    rpo = check(result, "rpo_s")
    detail = result.report["measurements"]["rpo_s"]["detail"]
    print(f"\nthrottled lab: {rpo['message']}; lost before t0: {detail['lost_seqs_before_t0']}; cap lifted at "
          f"t0 + {lifted.get('at_wall', float('nan')) - result.report['t0_wall']:.1f}s (then {lifted.get('cap_after')})")
    assert not result.passed
    assert rpo["passed"] is False and rpo["measured"] > 0, rpo["message"]
    assert detail["lost_seqs_before_t0"], "an RPO above 0 must name the acknowledged writes that were lost"
    conditions = {c["name"]: c["passed"] for c in result.report["conditions"]}
    assert conditions["fault-reverted"] and conditions["fault-in-effect"]
    rollbacks = {r["activity"]["name"]: r["status"] for r in result.journal["rollbacks"]}
    assert "at_wall" in lifted, "the cap was never lifted during the run (no verified step in its ledger)"
    assert lifted["at_wall"] - result.report["t0_wall"] < 5.0 and lifted["cap_after"] is None, lifted
    assert set(rollbacks.values()) == {"succeeded"}, rollbacks  # healed once the cap was lifted
    assert "rpo_s" in regressed_figures(result, normal_run)  # --baseline flags it against the normal run


def test_the_pytest_gate_writes_junit_and_allure_results(running_lab, tmp_path):
    junit = tmp_path / "junit.xml"
    allure_dir = tmp_path / "allure"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "scenarios/test_az_failure.py", "-q", "--keep-lab",
         f"--junitxml={junit}", f"--alluredir={allure_dir}", "-p", "no:cacheprovider"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    names = [case.get("name") for case in cases]
    assert "test_the_objective_is_met[detection_s]" in names
    assert "test_the_experiment_ran_as_designed[fault-reverted]" in names
    results = [json.loads(path.read_text()) for path in allure_dir.glob("*-result.json")]
    assert len(results) == len(names)
    for result in results:
        labels = {(label["name"], label["value"]) for label in result["labels"]}
        assert {("feature", "az-failure"), ("epic", "data plane"), ("severity", "critical")} <= labels
    set_up = "\n".join(path.read_text() for path in allure_dir.glob("*-container.json"))
    assert "inject: fault verified in effect" in set_up and "revert: every fault reverted" in set_up
    assert ".png" in {path.suffix for path in allure_dir.glob("*-attachment*")}
