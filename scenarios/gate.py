"""The scenario gate: one test per objective and per experiment condition, each read like a sentence.

A scenario module subclasses :class:`ScenarioGate` and names its ``SCENARIO``; ``conftest.py``
parametrizes ``objective`` from ``objectives.yaml`` and ``condition`` from the experiment conditions.

A run that could not judge the platform (no credentials, target not ready or unreachable, a safety
refusal, the fault not injected, the time limit) raises :class:`HarnessError` in the class's set-up:
every test of the scenario is a pytest ERROR (Allure: broken) naming the root cause, never a FAILED
"not judged" that reads like a product defect.
"""

from __future__ import annotations

import allure
import pytest

from zerospof.chaos.runner import ScenarioResult

__all__ = ["LAYERS", "HarnessError", "ScenarioGate", "assert_objective", "assert_condition", "gate_time_limit_s"]

LAYERS = {"az-failure": "data plane", "region-failure": "data plane", "control-plane": "control plane",
          "gitops": "gitops"}


class HarnessError(Exception):
    """The gate could not judge the platform: a harness or target error (exit 3), not a product defect."""


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


def gate_time_limit_s(config: pytest.Config, scenario: str) -> float | None:
    """The pytest-timeout limit of ``scenario``'s gate tests: ``--time-limit`` or the experiment's hard bound.

    None when the target or experiment cannot be read yet (the run then reports that, exit 2).
    """
    from zerospof.chaos.runner import experiment_path, limit_from, time_limits
    from zerospof.chaos.settings import ScenarioSettings
    from zerospof.errors import ConfigError
    from zerospof.targets import LabTarget, resolve_target
    from zerospof.validate import validate_experiment

    override = limit_from(config.getoption("--time-limit"))
    if override is not None:
        return override
    try:
        kind = "lab" if isinstance(resolve_target(config.getoption("--target")), LabTarget) else "aws"
        experiment = validate_experiment(experiment_path(kind, scenario))
        settings = ScenarioSettings.from_configuration(dict(experiment.get("configuration", {})))
    except ConfigError:
        return None
    return time_limits(experiment, settings)[1]


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
    @classmethod
    def result(cls, run_scenario, target: str, pytestconfig: pytest.Config) -> ScenarioResult:
        from scenarios.conftest import HARNESS_ERRORS
        from zerospof.errors import ConfigError, ZerospofError
        from zerospof.run import check_access
        from zerospof.targets import resolve_target

        try:
            check_access(resolve_target(target))
            result = run_scenario(cls.SCENARIO)
        except ConfigError:
            raise
        except pytest.fail.Exception as exc:  # pytest-timeout: the run's faults were reverted before this arrives
            pytestconfig.stash[HARNESS_ERRORS].append(f"{cls.SCENARIO}: {exc}")
            raise HarnessError(f"{cls.SCENARIO}: the gate's time limit fired, nothing judged, faults reverted: "
                               f"{exc}") from exc
        except ZerospofError as exc:
            pytestconfig.stash[HARNESS_ERRORS].append(f"{cls.SCENARIO}: {exc}")
            raise HarnessError(f"{cls.SCENARIO}: harness or target error, nothing judged: {exc}") from exc
        if result.error is not None:
            pytestconfig.stash[HARNESS_ERRORS].append(f"{cls.SCENARIO}: {result.error}")
            raise HarnessError(f"{cls.SCENARIO}: harness or target error, nothing judged: {result.error}")
        return result

    def test_the_experiment_ran_as_designed(self, result: ScenarioResult, condition: str) -> None:
        assert_condition(result, condition)

    def test_the_objective_is_met(self, result: ScenarioResult, objective: str) -> None:
        assert_objective(result, objective)
