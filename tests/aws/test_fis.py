"""The FIS fault runs its template through chaostoolkit-aws against moto; revert stops it, from the ledger record alone.

moto keeps FIS experiments and their states but runs no FIS action. Every assertion reads the
experiments back with the test's own boto3 client, never through the engine under test.
"""

from __future__ import annotations

import os

import boto3
import pytest
from chaoslib.exceptions import ActivityFailed

from tests.aws.moto_world import ACCOUNT, REGION, fis_experiments, make_fis_template
from zerospof.cloud.boundary import CloudApiError
from zerospof.aws.fis import ACTIVE_STATES, MARKER_TAG, ChaosAwsFis, FisExperiment
from zerospof.faults import Ledger, injected

STOPPED_STATES = {"stopping", "stopped"}


@pytest.fixture
def fis(aws: None):
    """A boto3 FIS client of the test's own on moto's in-process AWS."""
    return boto3.client("fis", region_name=REGION)


def params(template_id: str, **extra: str) -> dict:
    return {"region": REGION, "template_id": template_id, "allowed_account_ids": [ACCOUNT], **extra}


def statuses(fis, marker: str) -> dict[str, str]:
    """Return ``{experiment id: status}`` of the experiments tagged with the fault's ``marker``."""
    return {i: e["status"] for i, e in fis_experiments(fis).items() if e["tags"].get(MARKER_TAG) == marker}


def test_the_fis_fault_runs_its_template_through_chaosaws_and_revert_stops_the_experiment(fis, tmp_path):
    fault = FisExperiment(params(make_fis_template(fis)))
    assert isinstance(fault.engine, ChaosAwsFis)
    with injected(fault, ledger=Ledger(tmp_path)):
        marker = fault.undo["marker"]
        running = statuses(fis, marker)
        assert list(running) == fault.undo["experiment_ids"] and set(running.values()) <= ACTIVE_STATES
    assert set(statuses(fis, marker).values()) <= STOPPED_STATES


def test_a_run_experiment_is_stopped_from_its_ledger_record_alone(fis, tmp_path):
    ledger = Ledger(tmp_path)
    fault = FisExperiment(params(make_fis_template(fis)))
    ledger.open(fault)
    fault.inject()
    [experiment_id] = fault.undo["experiment_ids"]
    assert fis_experiments(fis)[experiment_id]["status"] in ACTIVE_STATES
    assert [report.reverted for report in ledger.revert_open()] == [True]
    assert fis_experiments(fis)[experiment_id]["status"] in STOPPED_STATES


def test_an_experiment_started_before_its_id_was_saved_is_found_by_its_marker_and_stopped(fis, tmp_path):
    ledger = Ledger(tmp_path)
    template_id = make_fis_template(fis)
    record = ledger.open(FisExperiment(params(template_id)))
    tags = {MARKER_TAG: record.data["undo"]["marker"]}
    started = fis.start_experiment(experimentTemplateId=template_id, tags=tags)["experiment"]["id"]  # the run dies here
    assert [report.reverted for report in ledger.revert_open()] == [True]
    assert fis_experiments(fis)[started]["status"] in STOPPED_STATES


def test_an_unknown_template_fails_with_fis_own_error_code_and_starts_nothing(fis, tmp_path):
    with pytest.raises(CloudApiError) as raised:
        with injected(FisExperiment(params("EXTnosuchtemplate")), ledger=Ledger(tmp_path)):
            pass
    assert raised.value.code == "ResourceNotFoundException" and isinstance(raised.value.__cause__, ActivityFailed)
    assert fis_experiments(fis) == {}


def test_chaosaws_reaches_the_endpoint_url_of_the_faults_params(moto_server, tmp_path):
    fis = boto3.client("fis", region_name=REGION, endpoint_url=moto_server)
    fault = FisExperiment(params(make_fis_template(fis), endpoint_url=moto_server))
    with injected(fault, ledger=Ledger(tmp_path)):
        marker = fault.undo["marker"]
        assert set(statuses(fis, marker).values()) <= ACTIVE_STATES and statuses(fis, marker)
    assert set(statuses(fis, marker).values()) <= STOPPED_STATES
    assert "AWS_ENDPOINT_URL_FIS" not in os.environ  # pinned for each call only
