"""Contracts for what moto cannot simulate (FIS effects, Route 53 health-check failure, ARC zonal shift).

Every implementation of an interface must pass its contract; the fakes do here. The FIS engine
that goes through chaostoolkit-aws runs the same contract against moto, which keeps experiments'
states (not their effects); the boto3 Route 53 and ARC implementations run it only against a
real account (``-m real_cluster``).
"""

from __future__ import annotations

import boto3
import pytest

from tests.aws.moto_world import ACCOUNT, REGION, make_fis_template
from zerospof.aws.fis import ACTIVE_STATES, ChaosAwsFis, FakeFis, FisExperiment
from zerospof.aws.probes import route53_health_check
from zerospof.aws.route53_health import FakeHealthChecks
from zerospof.aws.zonal_shift import FakeZonalShifts
from zerospof.errors import FaultError
from zerospof.faults import Ledger, injected

@pytest.fixture(params=["fake", "chaosaws"])
def fis(request):
    """``(engine, template id)``: the FAKE in-memory engine, or the chaostoolkit-aws one on moto with a template there."""
    if request.param == "fake":
        return FakeFis({"EXTpowerinterrupt1"}), "EXTpowerinterrupt1"
    request.getfixturevalue("aws")
    return ChaosAwsFis(REGION), make_fis_template(boto3.client("fis", region_name=REGION))


@pytest.fixture(params=["fake"])
def health_checks(request):
    source = FakeHealthChecks()
    source.set_healthy("hc-up", True)
    source.set_healthy("hc-down", False)
    return source


@pytest.fixture(params=["fake"])
def zonal_shifts(request):
    return FakeZonalShifts()


# -- ExperimentEngine (FIS) ------------------------------------------------------------
def test_an_experiment_started_is_active_and_found_by_its_tags(fis):
    engine, template = fis
    experiment = engine.start(template, {"zerospof:fault": "m1"})
    assert engine.state(experiment) in ACTIVE_STATES
    assert engine.find({"zerospof:fault": "m1"}) == [experiment]
    assert engine.find({"zerospof:fault": "other"}) == []


def test_stopping_an_experiment_makes_it_inactive_and_is_idempotent(fis):
    engine, template = fis
    experiment = engine.start(template, {"zerospof:fault": "m2"})
    engine.stop(experiment)
    engine.stop(experiment)
    assert engine.state(experiment) not in ACTIVE_STATES
    assert engine.find({"zerospof:fault": "m2"}) == []


def test_an_unknown_template_fails_with_fault_error(fis):
    engine, _ = fis
    with pytest.raises(FaultError):
        engine.start("EXTnosuchtemplate", {})


def test_the_fis_fault_stops_its_experiment_on_revert_even_from_the_ledger(fis, aws, tmp_path):
    engine, template = fis
    params = {"region": REGION, "template_id": template, "allowed_account_ids": [ACCOUNT]}
    with injected(FisExperiment(params).use_engine(engine), ledger=Ledger(tmp_path)) as record:
        marker = record.data["undo"]["marker"]
        assert len(engine.find({"zerospof:fault": marker})) == 1
    assert engine.find({"zerospof:fault": marker}) == []
    ledger = Ledger(tmp_path / "second")
    fault = FisExperiment(params).use_engine(engine)
    record = ledger.open(fault)
    fault.inject()
    rebuilt = record.fault()
    assert isinstance(rebuilt, FisExperiment)
    rebuilt.use_engine(engine).revert()
    assert engine.find({"zerospof:fault": fault.undo["marker"]}) == []


# -- HealthCheckStatusSource (Route 53) --------------------------------------------------
def test_a_known_health_check_has_observations_and_a_down_endpoint_is_unhealthy_for_most(health_checks):
    assert route53_health_check(health_checks, "hc-up")["detected"] is False
    down = route53_health_check(health_checks, "hc-down")
    assert down["detected"] is True and down["unhealthy_checkers"] * 2 > down["checkers"] > 0


def test_an_unknown_health_check_fails_with_fault_error(health_checks):
    with pytest.raises(FaultError):
        health_checks.observations("hc-missing")


# -- ZonalShifts (ARC) -----------------------------------------------------------------------
def test_a_zonal_shift_is_listed_until_cancelled_and_cancel_is_idempotent(zonal_shifts):
    shift = zonal_shifts.start("arn:lb/a", "usw2-az1", 30, "zerospof az-failure")
    other = zonal_shifts.start("arn:lb/b", "usw2-az2", 30, "other")
    assert zonal_shifts.active("arn:lb/a") == {shift: "usw2-az1"}
    zonal_shifts.cancel(shift)
    zonal_shifts.cancel(shift)
    assert zonal_shifts.active("arn:lb/a") == {}
    assert zonal_shifts.active("arn:lb/b") == {other: "usw2-az2"}
