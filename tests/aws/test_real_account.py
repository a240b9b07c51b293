"""The opt-in real account of the contracts: its contract file is validated, and without it nothing reaches AWS."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.aws.real_account import ENVIRONMENT, OPTION, ShiftResource, contract_path, load_real_contract
from zerospof.aws.target import load_aws_target
from zerospof.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "aws" / "real-contract.example.yaml"
TARGET_EXAMPLE = REPO / "targets" / "staging.example.yaml"
REAL_CONTRACT_TESTS = 7  # 4 FIS, 2 Route 53, 1 ARC: one "real" parameter each


def write_contract(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "staging.contract.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_the_documented_contract_example_loads_with_every_section():
    contract = load_real_contract(EXAMPLE, load_aws_target(TARGET_EXAMPLE))
    assert contract.healthy_health_check_id == "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    assert contract.unhealthy_health_check_id == "1a1b2c3d-4e5f-6789-abcd-ef0123456789"
    assert [resource.away_from_zone for resource in contract.shift_resources] == ["usw2-az1", "usw2-az2"]
    assert contract.fis_template_id == "EXTabc123wait"


def test_the_contract_file_is_the_one_next_to_the_target():
    assert contract_path(Path("targets/staging.yaml")) == Path("targets/staging.contract.yaml")


def test_a_section_left_out_is_none(tmp_path):
    contract = load_real_contract(write_contract(tmp_path, {"fis": {"template_id": "EXTwait1"}}))
    assert (contract.healthy_health_check_id, contract.unhealthy_health_check_id) == (None, None)
    assert contract.shift_resources is None and contract.fis_template_id == "EXTwait1"


ARN_A = "arn:aws:elasticloadbalancing:us-west-2:111122223333:loadbalancer/app/a/1"
ARN_B = "arn:aws:elasticloadbalancing:us-west-2:111122223333:loadbalancer/app/b/2"


@pytest.mark.parametrize("document, key", [
    ({"route53": {"healthy_health_check_id": "hc-up"}}, "route53.unhealthy_health_check_id"),
    ({"route53": {"healthy_health_check_id": "hc-up", "unhealthy_health_check_id": "hc-down"}},
     "route53.healthy_health_check_id"),
    ({"zonal_shift": {"resources": [{"arn": ARN_A, "away_from": "usw2-az1"}]}}, "zonal_shift.resources"),
    ({"zonal_shift": {"resources": [{"arn": ARN_A, "away_from": "usw2-az1"}, {"arn": ARN_A, "away_from": "usw2-az2"}]}},
     r"zonal_shift.resources\[1\].arn"),
    ({"zonal_shift": {"resources": [{"arn": ARN_A, "away_from": "us-west-2a"}, {"arn": ARN_B, "away_from": "usw2-az2"}]}},
     r"zonal_shift.resources\[0\].away_from"),
    ({"fis": {"template_id": "EXTwait1", "region": "us-west-2"}}, "fis.region"),
], ids=["a-missing-id", "not-a-health-check-id", "one-resource", "the-same-resource-twice", "a-zone-name", "unknown-key"])
def test_a_mistake_in_the_contract_file_names_its_key(tmp_path, document, key):
    with pytest.raises(ConfigError, match=key):
        load_real_contract(write_contract(tmp_path, document))


def test_a_zonal_shift_resource_outside_the_targets_primary_region_is_refused(tmp_path):
    other_region = ARN_B.replace("us-west-2", "us-east-1")
    path = write_contract(tmp_path, {"zonal_shift": {"resources": [{"arn": ARN_A, "away_from": "usw2-az1"},
                                                                   {"arn": other_region, "away_from": "use1-az1"}]}})
    with pytest.raises(ConfigError, match=r"zonal_shift.resources\[1\].arn.*primary region us-west-2"):
        load_real_contract(path, load_aws_target(TARGET_EXAMPLE))
    assert load_real_contract(path).shift_resources[1] == ShiftResource(other_region, "use1-az1")  # no target: no check


def test_without_a_real_target_the_real_account_contracts_are_skipped_saying_how_to_opt_in():
    environment = {name: value for name, value in os.environ.items() if name != ENVIRONMENT}
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/aws/test_contracts.py", "-m", "real_cluster", "-rs",
                          "-p", "no:cacheprovider", "-q"],
                         cwd=REPO, env=environment, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    skipped = [line for line in run.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == REAL_CONTRACT_TESTS and all(OPTION in line and ENVIRONMENT in line for line in skipped), run.stdout
    assert re.search(rf"\b{REAL_CONTRACT_TESTS} skipped, \d+ deselected\b", run.stdout), run.stdout
    assert " passed" not in run.stdout and " error" not in run.stdout, run.stdout
