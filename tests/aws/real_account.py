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
from typing import Any, TypeVar

import pytest

from zerospof.aws.clients import AwsClients
from zerospof.aws.schema import Reader
from zerospof.aws.target import AwsTarget
from zerospof.schema import load_yaml_mapping

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


def load_real_contract(path: str | Path, target: AwsTarget | None = None) -> RealContract:
    """Read and validate a contract file; raise ConfigError naming the file, key path and value.

    With ``target``, each zonal-shift resource must be an ARN of the target's primary region (where
    the contracts run).
    """
    r = Reader(str(path))
    top = r.mapping(load_yaml_mapping(path), "", optional=["route53", "zonal_shift", "fis"])
    route53: dict[str, Any] = {}
    if top.get("route53") is not None:
        route53 = r.mapping(top["route53"], "route53",
                            required=["healthy_health_check_id", "unhealthy_health_check_id"])
    shifts = None
    if top.get("zonal_shift") is not None:
        section = r.mapping(top["zonal_shift"], "zonal_shift", required=["resources"])
        items = r.items(section["resources"], "zonal_shift.resources")
        if len(items) != 2:
            raise r.fail("zonal_shift.resources", "expected exactly two resources (one shift must not touch the other)",
                         section["resources"])
        first, second = (_shift_resource(r, key, item, target) for key, item in items)
        if first.arn == second.arn:
            raise r.fail("zonal_shift.resources[1].arn", "must differ from resources[0].arn", second.arn)
        shifts = (first, second)
    fis: dict[str, Any] = {}
    if top.get("fis") is not None:
        fis = r.mapping(top["fis"], "fis", required=["template_id"])
    return RealContract(
        path=str(path),
        healthy_health_check_id=r.optional_string(route53.get("healthy_health_check_id"),
                                                  "route53.healthy_health_check_id", HEALTH_CHECK_ID, "a health check id"),
        unhealthy_health_check_id=r.optional_string(route53.get("unhealthy_health_check_id"),
                                                    "route53.unhealthy_health_check_id", HEALTH_CHECK_ID,
                                                    "a health check id"),
        shift_resources=shifts,
        fis_template_id=r.optional_string(fis.get("template_id"), "fis.template_id", r"EXT[A-Za-z0-9]+",
                                          "a FIS template id (EXT...)"),
    )


def _shift_resource(r: Reader, key: str, item: Any, target: AwsTarget | None) -> ShiftResource:
    item = r.mapping(item, key, required=["arn", "away_from"])
    arn = r.string(item["arn"], f"{key}.arn", r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]+:\d{12}:\S+", "a resource ARN")
    if target is not None and arn.split(":")[3] != target.primary_region:
        raise r.fail(f"{key}.arn", f"not in the target's primary region {target.primary_region}", arn)
    zone = r.string(item["away_from"], f"{key}.away_from", r"[a-z]+\d+-az\d+", "an AZ ID such as usw2-az1")
    return ShiftResource(arn, zone)
