"""Scoring measurements against objectives."""

from __future__ import annotations

import json

import pytest

from zerospof.measure import Measurement
from zerospof.verdict import Check, Comparison, Objective, Verdict, in_doubt, judge


def _seconds(name: str, value: float | None, **detail: object) -> Measurement:
    return Measurement(name, value, "s", 0.5, dict(detail))


def test_a_measurement_under_its_target_passes_with_positive_margin() -> None:
    verdict = judge({"detection_s": _seconds("detection_s", 2.1)}, [Objective("detection_s", 30, "lt")])
    (check,) = verdict.checks
    assert verdict.passed
    assert check.passed
    assert check.margin == pytest.approx(27.9)
    assert check.message == "detection_s: measured 2.10s, target < 30s, margin 27.90s"


def test_a_measurement_over_its_target_fails_with_negative_margin() -> None:
    verdict = judge({"rto_s": _seconds("rto_s", 45.0)}, [Objective("rto", 30.0, "lt", measurement="rto_s")])
    (check,) = verdict.checks
    assert not verdict.passed
    assert check.objective == "rto" and check.measurement == "rto_s"
    assert check.margin == pytest.approx(-15.0)
    assert check.message == "rto_s: measured 45.00s, target < 30s, margin -15.00s"


def test_less_than_fails_at_the_target_and_less_or_equal_passes() -> None:
    measurements = {"rto_s": _seconds("rto_s", 30.0)}
    assert not judge(measurements, [Objective("rto_s", 30, Comparison.LT)]).passed
    assert judge(measurements, [Objective("rto_s", 30, "le")]).passed


def test_eq_zero_passes_only_on_exactly_zero() -> None:
    objective = Objective("downtime_s", 0, "eq_zero")
    assert judge({"downtime_s": _seconds("downtime_s", 0.0)}, [objective]).passed
    verdict = judge({"downtime_s": _seconds("downtime_s", 0.25)}, [objective])
    assert not verdict.passed
    assert verdict.checks[0].margin == pytest.approx(-0.25)
    assert "target = 0s" in verdict.checks[0].message


def test_a_none_value_fails_and_says_it_was_not_measured() -> None:
    measured = _seconds("detection_s", None, reason="fault not detected")
    verdict = judge({"detection_s": measured}, [Objective("detection_s", 30, "lt")])
    (check,) = verdict.checks
    assert not verdict.passed
    assert check.measured is None and check.margin is None
    assert check.message == "detection_s: not measured (fault not detected), target < 30s"


def test_a_none_value_fails_even_against_eq_zero() -> None:
    verdict = judge({"rpo_s": _seconds("rpo_s", None)}, [Objective("rpo_s", 0, "eq_zero")])
    assert not verdict.passed
    assert "not measured" in verdict.checks[0].message


def test_a_missing_measurement_fails_instead_of_being_skipped() -> None:
    objectives = [Objective("detection_s", 30, "lt"), Objective("rpo_s", 60, "lt", unit="s")]
    verdict = judge({"detection_s": _seconds("detection_s", 1.0)}, objectives)
    assert [c.passed for c in verdict.checks] == [True, False]
    assert not verdict.passed
    assert verdict.failed[0].message == "rpo_s: not measured (no measurement named 'rpo_s'), target < 60s"


def test_a_verdict_without_checks_does_not_pass() -> None:
    assert not judge({}, []).passed


def test_units_other_than_seconds_are_spelled_out() -> None:
    measured = Measurement("failed_requests", 3.0, "requests", 1.0, {})
    verdict = judge({"failed_requests": measured}, [Objective("failed_requests", 0, "eq_zero")])
    assert verdict.checks[0].message == (
        "failed_requests: measured 3.00 requests, target = 0 requests, margin -3.00 requests")


def test_verdict_to_dict_is_json_serialisable() -> None:
    verdict = judge({"detection_s": _seconds("detection_s", 2.0)},
                    [Objective("detection_s", 30, "lt"), Objective("rto_s", 120, "lt")])
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["passed"] is False
    assert [c["measurement"] for c in data["checks"]] == ["detection_s", "rto_s"]
    assert data["checks"][0]["margin"] == pytest.approx(28.0)


def test_objective_rejects_an_unknown_comparison() -> None:
    with pytest.raises(ValueError, match="comparison must be one of"):
        Objective("detection_s", 30, "gt")


def test_objective_rejects_eq_zero_with_a_non_zero_target() -> None:
    with pytest.raises(ValueError, match="eq_zero"):
        Objective("downtime_s", 5, "eq_zero")


def test_objective_rejects_a_non_numeric_target() -> None:
    with pytest.raises(ValueError, match="finite number"):
        Objective("detection_s", "30s", "lt")  # type: ignore[arg-type]


def test_checks_and_verdicts_are_frozen() -> None:
    verdict = judge({"detection_s": _seconds("detection_s", 1.0)}, [Objective("detection_s", 30, "lt")])
    assert isinstance(verdict, Verdict) and isinstance(verdict.checks[0], Check)
    with pytest.raises(AttributeError):
        verdict.checks[0].passed = False  # type: ignore[misc]


# -- checks that turn on time nobody observed --------------------------------------------------
def _budget(name: str, downtime_s: float, budget_s: float) -> Measurement:
    return Measurement(name, downtime_s / budget_s, "ratio", None, {"budget_s": budget_s, "downtime_s": downtime_s})


def test_a_budget_missed_only_through_a_stall_is_in_doubt_and_one_missed_anyway_is_not() -> None:
    # the CI run of 2026-12-02: 28.3 s of read downtime against the 99.999% budget (25.9 s), 10.6 s unobserved
    found = {"load-balancers.budget_consumed": _budget("load-balancers.budget_consumed", 28.3, 25.92),
             "data-plane.budget_consumed": _budget("data-plane.budget_consumed", 50.0, 259.2),
             "writes.downtime_s": _seconds("writes.downtime_s", 50.0)}
    verdict = judge(found, [Objective("load-balancers.budget_consumed", 1.0, "lt"),
                            Objective("data-plane.budget_consumed", 1.0, "lt"),
                            Objective("writes.downtime_s", 300.0, "lt")])
    assert [c.measurement for c in in_doubt(verdict, found, 10.6)] == ["load-balancers.budget_consumed"]
    assert in_doubt(verdict, found, 2.0) == ()  # 26.3 s would still miss it: a plain FAIL
    assert in_doubt(verdict, found, 0.0) == ()
    # a request sent up to the slow limit before a gap is made slow by it: 3.2 s measured across a 3.1 s gap
    frozen = {"reads.downtime_s": Measurement("reads.downtime_s", 3.2, "s", 0.05)}
    verdict = judge(frozen, [Objective("reads.downtime_s", 0.0, "eq_zero")])
    assert in_doubt(verdict, frozen, 3.1) == ()  # 3.2 - 3.1 - 0.05 > 0: a FAIL, were it not for the edge
    assert [c.measurement for c in in_doubt(verdict, frozen, 3.1, edge_s=1.0)] == ["reads.downtime_s"]


def test_zero_downtime_cannot_be_proven_across_a_stall_and_other_units_are_not_doubted() -> None:
    found = {"reads.downtime_s": _seconds("reads.downtime_s", 0.0),
             "failed_request_rate": Measurement("failed_request_rate", 0.5, "ratio", None),
             "detection_s": _seconds("detection_s", None)}
    verdict = judge(found, [Objective("reads.downtime_s", 0.0, "eq_zero"),
                            Objective("failed_request_rate", 0.1, "lt"),
                            Objective("detection_s", 30.0, "lt")])
    assert [c.measurement for c in in_doubt(verdict, found, 1.5)] == ["reads.downtime_s"]
