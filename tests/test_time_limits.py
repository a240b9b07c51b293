"""A run's time limits come from its experiment's own bounds (pure arithmetic on the experiment and its settings)."""

from __future__ import annotations

from zerospof.chaos.runner import LIMIT_MARGIN_S, VERIFY_S, time_limits
from zerospof.chaos.settings import ScenarioSettings


def experiment(rollback_timeout_s: float | None, method_timeout: float | None = None) -> dict:
    wait = {"type": "action", "name": "wait-until-healthy",
            "provider": {"type": "python", "module": "probes.scenario", "func": "wait_until_healthy",
                         **({"arguments": {"timeout_s": rollback_timeout_s}} if rollback_timeout_s else {})}}
    method = {"type": "action", "name": "inject", "provider": {"type": "python", "module": "m", "func": "f"},
              **({"timeout": method_timeout} if method_timeout else {})}
    return {"method": [method], "rollbacks": [wait]}


def settings(**overrides: str) -> ScenarioSettings:
    return ScenarioSettings.from_configuration({"zerospof_scenario": "az-failure", "zerospof_ready_timeout": "90s",
                                                "zerospof_baseline": "3s", "zerospof_recovery_timeout": "3min",
                                                "zerospof_settle": "3s", **overrides})


def test_the_graceful_limit_adds_every_bounded_wait_of_the_method_and_the_hard_one_the_rollbacks():
    graceful, hard = time_limits(experiment(300), settings())
    assert graceful == 90 + 3 + VERIFY_S + 180 + 3 + LIMIT_MARGIN_S
    assert hard == graceful + 300 + LIMIT_MARGIN_S


def test_a_longer_recovery_timeout_or_an_activity_timeout_lengthens_the_limit():
    base, _ = time_limits(experiment(300), settings())
    longer, _ = time_limits(experiment(300, method_timeout=30), settings(zerospof_recovery_timeout="10min"))
    assert longer == base + (600 - 180) + 30


def test_wait_until_healthy_without_a_timeout_counts_its_default():
    _, hard = time_limits(experiment(None), settings())
    graceful, _ = time_limits(experiment(None), settings())
    assert hard == graceful + 120 + LIMIT_MARGIN_S
