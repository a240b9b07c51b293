"""The gitops scenario as a gate: one test per objective of objectives.yaml and per experiment condition."""

from __future__ import annotations

import pytest

from scenarios.gate import assert_condition, assert_objective

SCENARIO = "gitops"


@pytest.fixture(scope="module")
def result(run_scenario):
    return run_scenario(SCENARIO)


def test_the_experiment_ran_as_designed(result, condition):
    assert_condition(result, condition)


def test_the_objective_is_met(result, objective):
    assert_objective(result, objective)
