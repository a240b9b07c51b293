"""Contracts for what moto cannot simulate (FIS effects, Route 53 health-check failure, ARC zonal shift).

Every implementation of an interface must pass its contract; the fakes do here. The FIS engine
that goes through chaostoolkit-aws runs the same contract against moto, which keeps experiments'
states (not their effects); the boto3 Route 53 and ARC implementations, and the chaostoolkit-aws
engine on real FIS, run it only against a real account (``-m real_cluster`` with ``--real-target``:
see ``tests/aws/real_account.py`` and docs/aws/README.md). Without a real target file those are
skipped, saying how to opt in.
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from dataclasses import dataclass

import boto3
import pytest

from tests.aws.moto_world import ACCOUNT, REGION, make_fis_template
from tests.aws.real_account import MISSING_HEALTH_CHECK_ID, ShiftResource
from zerospof.aws.fis import ACTIVE_STATES, ChaosAwsFis, ExperimentEngine, FakeFis, FisExperiment
from zerospof.aws.probes import route53_health_check
from zerospof.aws.route53_health import FakeHealthChecks, HealthCheckStatusSource, Route53HealthChecks
from zerospof.aws.zonal_shift import Boto3ZonalShifts, FakeZonalShifts, ZonalShifts
from zerospof.errors import FaultError
from zerospof.faults import Ledger, injected

REAL = pytest.param("real", marks=pytest.mark.real_cluster)


@dataclass(frozen=True)
class FisSubject:
    """An engine, a template it may start, and the region and accounts a FisExperiment on it acts in."""

    engine: ExperimentEngine
    template_id: str
    region: str
    allowed_account_ids: tuple[str, ...]


@dataclass(frozen=True)
class HealthCheckSubject:
    """A status source and three of its health checks: one up, one down, one that does not exist."""

    source: HealthCheckStatusSource
    healthy_id: str
    unhealthy_id: str
    missing_id: str


@dataclass(frozen=True)
class ZonalShiftSubject:
    """Zonal shifts and two resources they may shift (each away from its own AZ)."""

    shifts: ZonalShifts
    resources: tuple[ShiftResource, ShiftResource]


@pytest.fixture(params=["fake", "chaosaws", REAL])
def fis(request: pytest.FixtureRequest) -> FisSubject:
    """The FAKE in-memory engine, chaostoolkit-aws on moto, or chaostoolkit-aws on the real account's FIS."""
    if request.param == "real":
        account = request.getfixturevalue("real_account")
        template_id = account.needs(account.contract.fis_template_id, "fis")
        return FisSubject(ChaosAwsFis(account.region), template_id, account.region, account.target.allowed_account_ids)
    request.getfixturevalue("aws")  # moto: chaosaws's FIS, and the STS a FisExperiment checks its account with
    if request.param == "fake":
        return FisSubject(FakeFis({"EXTpowerinterrupt1"}), "EXTpowerinterrupt1", REGION, (ACCOUNT,))
    template_id = make_fis_template(boto3.client("fis", region_name=REGION))
    return FisSubject(ChaosAwsFis(REGION), template_id, REGION, (ACCOUNT,))


@pytest.fixture(params=["fake", REAL])
def health_checks(request: pytest.FixtureRequest) -> HealthCheckSubject:
    """FAKE health checks, or Route 53's: the real account's known-healthy and known-unhealthy ones."""
    if request.param == "real":
        account = request.getfixturevalue("real_account")
        contract = account.contract
        account.needs(contract.healthy_health_check_id, "route53")
        return HealthCheckSubject(Route53HealthChecks(account.clients.client("route53", "us-east-1")),  # global
                                  contract.healthy_health_check_id, contract.unhealthy_health_check_id,
                                  MISSING_HEALTH_CHECK_ID)
    source = FakeHealthChecks()
    source.set_healthy("hc-up", True)
    source.set_healthy("hc-down", False)
    return HealthCheckSubject(source, "hc-up", "hc-down", "hc-missing")


@pytest.fixture(params=["fake", REAL])
def zonal_shifts(request: pytest.FixtureRequest) -> ZonalShiftSubject:
    """FAKE zonal shifts, or ARC's on two of the real account's registered resources."""
    if request.param == "real":
        account = request.getfixturevalue("real_account")
        resources = account.needs(account.contract.shift_resources, "zonal_shift")
        return ZonalShiftSubject(Boto3ZonalShifts(account.clients.client("arc-zonal-shift", account.region)), resources)
    return ZonalShiftSubject(FakeZonalShifts(), (ShiftResource("arn:lb/a", "usw2-az1"),
                                                 ShiftResource("arn:lb/b", "usw2-az2")))


def marker_tags() -> dict[str, str]:
    """Tags no other experiment carries (a real account may still run one from an earlier run)."""
    return {"zerospof:fault": f"contract-{uuid.uuid4().hex}"}


# -- ExperimentEngine (FIS) ------------------------------------------------------------
def test_an_experiment_started_is_active_and_found_by_its_tags(fis):
    tags = marker_tags()
    experiment = fis.engine.start(fis.template_id, tags)
    try:
        assert fis.engine.state(experiment) in ACTIVE_STATES
        assert fis.engine.find(tags) == [experiment]
        assert fis.engine.find(marker_tags()) == []
    finally:
        fis.engine.stop(experiment)


def test_stopping_an_experiment_makes_it_inactive_and_is_idempotent(fis):
    tags = marker_tags()
    experiment = fis.engine.start(fis.template_id, tags)
    fis.engine.stop(experiment)
    fis.engine.stop(experiment)
    assert fis.engine.state(experiment) not in ACTIVE_STATES
    assert fis.engine.find(tags) == []


def test_an_unknown_template_fails_with_fault_error(fis):
    with pytest.raises(FaultError):
        fis.engine.start("EXTnosuchtemplate", {})


def test_the_fis_fault_stops_its_experiment_on_revert_even_from_the_ledger(fis, tmp_path):
    engine = fis.engine
    params = {"region": fis.region, "template_id": fis.template_id, "allowed_account_ids": list(fis.allowed_account_ids)}
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
    up = route53_health_check(health_checks.source, health_checks.healthy_id)
    assert up["detected"] is False and up["checkers"] > 0
    down = route53_health_check(health_checks.source, health_checks.unhealthy_id)
    assert down["detected"] is True and down["unhealthy_checkers"] * 2 > down["checkers"] > 0


def test_an_unknown_health_check_fails_with_fault_error(health_checks):
    with pytest.raises(FaultError):
        health_checks.source.observations(health_checks.missing_id)


# -- ZonalShifts (ARC) -----------------------------------------------------------------------
def test_a_zonal_shift_is_listed_until_cancelled_and_cancel_is_idempotent(zonal_shifts):
    shifts, (first, second) = zonal_shifts.shifts, zonal_shifts.resources
    with ExitStack() as cleanup:  # a real shift moves traffic: cancel both whatever happens (else they expire)
        shift = shifts.start(first.arn, first.away_from_zone, 5, "zerospof contract test")
        cleanup.callback(shifts.cancel, shift)
        other = shifts.start(second.arn, second.away_from_zone, 5, "zerospof contract test: the other resource")
        cleanup.callback(shifts.cancel, other)
        assert shifts.active(first.arn) == {shift: first.away_from_zone}
        shifts.cancel(shift)
        shifts.cancel(shift)
        assert shifts.active(first.arn) == {}
        assert shifts.active(second.arn) == {other: second.away_from_zone}
