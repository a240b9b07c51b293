"""Lab pieces that need no root: layout, rendered configs, fault parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from zerospof.errors import FaultError
from zerospof.lab import configs
from zerospof.lab import topology as t
from zerospof.lab.faults import AzLoss, RegionLoss


def test_every_namespace_name_is_prefixed_and_every_address_in_the_lab_subnet() -> None:
    import ipaddress

    subnet = ipaddress.ip_network(t.SUBNET)
    for place in t.all_places():
        assert place.namespace.startswith("zs-")
        assert len(place.host_device) <= 15
        assert ipaddress.ip_address(place.address) in subnet
    assert len({p.address for p in t.all_places()}) == len(t.all_places())


def test_etcd_members_span_both_regions_and_the_witness() -> None:
    regions = {t.place(p).region for p in t.ETCD_PLACES}
    assert regions == {"r1", "r2", None}


def test_haproxy_config_has_the_measured_health_check_settings(tmp_path: Path) -> None:
    text = configs._haproxy(tmp_path, "r1-a")
    for setting in ("inter 500ms fastinter 250ms", "fall 2 rise 2", "timeout connect 150ms", "retries 3",
                    "option redispatch 1", "retry-on conn-failure empty-response response-timeout 503",
                    "GET /primary"):
        assert setting in text


def test_az_loss_names_its_zone_and_rejects_unknown_ones() -> None:
    assert AzLoss({"region": "r1", "az": "b"}).params["zones"] == ["r1-b"]
    with pytest.raises(FaultError):
        AzLoss({"region": "r9", "az": "b"})
    with pytest.raises(FaultError):
        AzLoss({"region": "r1", "az": "b", "mode": "flood"})


def test_region_loss_covers_every_az_of_the_region() -> None:
    assert RegionLoss({"region": "r2"}).params["zones"] == ["r2-a", "r2-b", "r2-c"]
