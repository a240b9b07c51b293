"""The opt-in real AWS account of the contracts (``-m real_cluster``): where it is, and what it may touch.

``--real-target PATH`` (or ``$ZEROSPOF_REAL_TARGET``) names an AWS target file; the contract file
next to it (``<target stem>.contract.yaml``; documented example:
``docs/aws/real-contract.example.yaml``) names the resources the contracts use. Without a target
file the real-account tests are skipped, and the suite's loopback-only and fake-credential
guards stay on for every test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import pytest
from pydantic import BaseModel, ConfigDict, Field

from zerospof.aws.clients import AwsClients
from zerospof.aws.schema import matching
from zerospof.aws.target import AwsTarget
from zerospof.errors import ConfigError
from zerospof.schema import load_yaml_mapping, validate_model

__all__ = ["ENVIRONMENT", "MISSING_HEALTH_CHECK_ID", "OPTION", "RealAccount", "RealContract", "ShiftResource",
           "contract_path", "load_real_contract", "real_target_path", "skip_reason"]

OPTION = "--real-target"
ENVIRONMENT = "ZEROSPOF_REAL_TARGET"
HEALTH_CHECK_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
MISSING_HEALTH_CHECK_ID = "00000000-0000-0000-0000-000000000000"  # well formed; Route 53 never issues it

T = TypeVar("T")


@dataclass(frozen=True)
class ShiftResource:
    """A resource registered with ARC zonal shift, and the AZ ID (``usw2-az1``, not a zone name) to shift away from."""

    arn: str
    away_from_zone: str


@dataclass(frozen=True)
class RealContract:
    """The resources of a contract file; a section left out is None (its tests skip, saying so)."""

    path: str
    healthy_health_check_id: str | None
    unhealthy_health_check_id: str | None
    shift_resources: tuple[ShiftResource, ShiftResource] | None
    fis_template_id: str | None


@dataclass(frozen=True)
class RealAccount:
    """An opted-in real account: the validated target and contract files, and clients on real credentials."""

    target: AwsTarget
    contract: RealContract
    clients: AwsClients

    @property
    def region(self) -> str:
        """Where the contracts run: the target's primary region (Route 53 is global)."""
        return self.target.primary_region

    def needs(self, value: T | None, section: str) -> T:
        """Return ``value``; skip the test when the contract file leaves ``section`` out."""
        if value is None:
            pytest.skip(f"real AWS account: {self.contract.path} has no {section} section")
        return value


def real_target_path(config: pytest.Config) -> Path | None:
    """The target file given by ``--real-target`` or ``$ZEROSPOF_REAL_TARGET`` (the option wins), else None."""
    value = config.getoption("real_target", default=None) or os.environ.get(ENVIRONMENT) or None
    return Path(value) if value else None


def skip_reason() -> str:
    """Why a real-account test did not run, and how to opt in."""
    return (f"real AWS account: opt-in; give {OPTION} PATH (an AWS target file, with its <stem>.contract.yaml "
            f"next to it) or set ${ENVIRONMENT}; see docs/aws/README.md")


def contract_path(target_path: Path) -> Path:
    """The contract file of a target file: ``targets/staging.yaml`` -> ``targets/staging.contract.yaml``."""
    return target_path.with_name(f"{target_path.stem}.contract.yaml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


HealthCheckId = matching(HEALTH_CHECK_ID, "a health check id")
ResourceArn = matching(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]+:\d{12}:\S+", "a resource ARN")
AzId = matching(r"[a-z]+\d+-az\d+", "an AZ ID such as usw2-az1")
FisTemplateId = matching(r"EXT[A-Za-z0-9]+", "a FIS template id (EXT...)")


class _Route53(_Section):
    healthy_health_check_id: HealthCheckId
    unhealthy_health_check_id: HealthCheckId


class _Shift(_Section):
    arn: ResourceArn
    away_from: AzId


class _ZonalShift(_Section):
    resources: Annotated[list[_Shift], Field(min_length=2, max_length=2)]


class _Fis(_Section):
    template_id: FisTemplateId


class _ContractFile(_Section):
    route53: _Route53 | None = None
    zonal_shift: _ZonalShift | None = None
    fis: _Fis | None = None


def load_real_contract(path: str | Path, target: AwsTarget | None = None) -> RealContract:
    """Read and validate a contract file; raise ConfigError naming the file, key path and value.

    With ``target``, each zonal-shift resource must be an ARN of the target's primary region (where
    the contracts run).
    """
    contract = validate_model(_ContractFile, load_yaml_mapping(path), path)
    shifts = None
    if contract.zonal_shift is not None:
        first, second = (ShiftResource(item.arn, item.away_from) for item in contract.zonal_shift.resources)
        if first.arn == second.arn:
            raise ConfigError(str(path), "zonal_shift.resources[1].arn", "must differ from resources[0].arn", second.arn)
        for index, shift in enumerate((first, second)):
            if target is not None and shift.arn.split(":")[3] != target.primary_region:
                raise ConfigError(str(path), f"zonal_shift.resources[{index}].arn",
                                  f"not in the target's primary region {target.primary_region}", shift.arn)
        shifts = (first, second)
    return RealContract(
        path=str(path),
        healthy_health_check_id=contract.route53 and contract.route53.healthy_health_check_id,
        unhealthy_health_check_id=contract.route53 and contract.route53.unhealthy_health_check_id,
        shift_resources=shifts,
        fis_template_id=contract.fis and contract.fis.template_id,
    )
