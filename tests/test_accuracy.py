"""Accuracy: detection measured by the monitors agrees with the component's own log of the event."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from zerospof.chaos.runner import ScenarioResult, experiment_path, run_experiment_file
from zerospof.chaos.settings import new_run_id
from zerospof.lab import Lab

pytestmark = pytest.mark.lab
POLL_LATENCY_S = 0.3  # a signal read takes up to this long on top of the sampling interval
PROMOTED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO: promoted self to leader")


def run(scenario: str, run_dir: Path) -> ScenarioResult:
    return run_experiment_file(experiment_path("lab", scenario), {
        "zerospof_run_id": new_run_id(), "zerospof_run_dir": str(run_dir), "zerospof_ledger_dir": str(run_dir / "ledger"),
    })


def patroni_promotions_wall(lab: Lab, after_wall: float) -> list[float]:
    """Wall times at which a Patroni member logged its promotion, after ``after_wall``."""
    found = []
    for log in Path(lab.state_dir, "logs").glob("pg-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            match = PROMOTED.match(line)
            if match:
                stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                if stamp >= after_wall:
                    found.append(stamp)
    return sorted(found)


@pytest.mark.parametrize("scenario", ["az-failure", "region-failure"])
def test_patroni_failover_detection_agrees_with_patronis_promotion_log(running_lab, tmp_path, scenario):
    result = run(scenario, tmp_path)
    report = result.report
    detection = report["measurements"]["detection_s"]
    measured_s = detection["detail"]["per_probe_s"]["signal:patroni-failover"]
    assert measured_s is not None, "the monitors never saw Patroni fail over"
    resolution_s = detection["resolution_s"]
    t0_wall = report["t0_wall"]
    (promoted_wall, *_) = patroni_promotions_wall(running_lab, t0_wall)
    truth_s = promoted_wall - t0_wall
    print(f"\n{scenario}: Patroni promotion measured at t0 + {measured_s:.3f}s, logged at t0 + {truth_s:.3f}s "
          f"(resolution {resolution_s:.3f}s)")
    assert -0.05 <= measured_s - truth_s <= resolution_s + POLL_LATENCY_S
