"""The scenario gate: one test per objective and per experiment condition, each read like a sentence.

A scenario module subclasses :class:`ScenarioGate` and names its ``SCENARIO``; ``conftest.py``
parametrizes ``objective`` from ``objectives.yaml`` and ``condition`` from the experiment conditions.
"""

from __future__ import annotations

import allure
import pytest

from zerospof.chaos.runner import ScenarioResult

__all__ = ["LAYERS", "ScenarioGate", "assert_objective", "assert_condition"]

LAYERS = {"az-failure": "data plane", "region-failure": "data plane", "control-plane": "control plane",
          "gitops": "gitops"}


def assert_objective(result: ScenarioResult, measurement: str) -> None:
    """Fail unless the objective on ``measurement`` passed; the message gives measured, target and margin."""
    __tracebackhide__ = True
    checks = [check for check in result.report.get("checks", []) if check["measurement"] == measurement]
    path = result.report.get("paths", {}).get(measurement.split(".", 1)[0], {})
    if not checks and path.get("measured") is False:  # shown as skipped with the reason, never as passed
        pytest.skip(f"{result.scenario}: {measurement}: not measured: {path.get('reason')}")
    if not checks:
        raise AssertionError(f"{result.scenario}: {measurement} was not judged "
                             f"({result.report.get('error', 'no such objective in the report')})")
    for check in checks:
        assert check["passed"], f"{result.scenario}: {check['message']}"


def assert_condition(result: ScenarioResult, name: str) -> None:
    """Fail unless the experiment condition ``name`` held (chaoslib's own status is not trusted alone)."""
    __tracebackhide__ = True
    conditions = {c["name"]: c for c in result.report.get("conditions", [])}
    if name not in conditions:
        raise AssertionError(f"{result.scenario}: condition {name} was not evaluated "
                             f"({result.report.get('error', 'the run produced no conditions')})")
    assert conditions[name]["passed"], f"{result.scenario}: {name}: {conditions[name]['message']}"


class ScenarioGate:
    """Run ``SCENARIO``'s experiment once for the class, then judge each objective and condition separately."""

    SCENARIO: str = ""

    @pytest.fixture(autouse=True)
    def _allure_labels(self) -> None:
        """Label every test (epic = layer, feature = scenario, severity) for the Allure report."""
        allure.dynamic.epic(LAYERS.get(self.SCENARIO, "platform"))
        allure.dynamic.feature(self.SCENARIO)
        allure.dynamic.severity(allure.severity_level.CRITICAL)

    @pytest.fixture(scope="class")
    def result(self, run_scenario) -> ScenarioResult:
        return run_scenario(self.SCENARIO)

    def test_the_experiment_ran_as_designed(self, result: ScenarioResult, condition: str) -> None:
        assert_condition(result, condition)

    def test_the_objective_is_met(self, result: ScenarioResult, objective: str) -> None:
        assert_objective(result, objective)
