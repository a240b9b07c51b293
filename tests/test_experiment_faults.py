"""Every experiment names the fault it injects (``inject_fault`` ``fault:``), and the lab's driver builds that very kind."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from zerospof.objectives import SCENARIOS

REPO = Path(__file__).resolve().parents[1]


def named_fault(path: Path) -> tuple[dict, object]:
    experiment = yaml.safe_load(path.read_text())
    [action] = [a for a in experiment["method"] if a["provider"].get("func") == "inject_fault"]
    return experiment, action["provider"].get("arguments", {}).get("fault")


@pytest.mark.parametrize("kind", ["lab", "aws"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_experiment_names_its_fault(kind, scenario):
    _, fault = named_fault(REPO / "experiments" / kind / f"{scenario}.yaml")
    assert fault, f"experiments/{kind}/{scenario}.yaml: inject_fault names no fault"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_lab_builds_the_fault_its_experiment_names(scenario):
    from zerospof.lab.driver import LabDriver

    experiment, fault = named_fault(REPO / "experiments" / "lab" / f"{scenario}.yaml")
    options = experiment["configuration"].get("zerospof_fault_options") or {}
    assert LabDriver().fault(scenario, options).kind == fault
