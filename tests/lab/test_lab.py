"""End-to-end tests of the lab: real daemons in namespaces, real faults, real recovery."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from lab_helpers import Probe

from tests.helpers import wait_for
from zerospof.faults import Ledger, injected
from zerospof.lab import Lab, client, signals
from zerospof.lab import topology as t
from zerospof.lab.faults import AzLoss, RegionLoss
from zerospof.timeline import EventKind, Timeline

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _healthy(lab: Lab) -> bool:
    return bool(lab.status()["healthy"])


def _value_on_member(zone: str, key: str) -> str | None:
    try:
        with psycopg.connect(host=t.place(zone).address, port=t.PG_PORT, user="postgres", dbname="postgres",
                             connect_timeout=2, autocommit=True) as conn:
            row = conn.execute("SELECT value FROM zs_kv WHERE key = %s", (key,)).fetchone()
    except psycopg.Error:
        return None
    return None if row is None else row[0]


def test_app_answers_from_the_client_namespace_through_dns_and_lb(lab: Lab) -> None:
    response = client.request("GET", "/read")
    assert response.ok, response
    assert response.dns_server == "dns1"
    assert response.address in {t.place(z).address for z in t.LB_ZONES["r1"]}
    assert response.body["zone"].startswith("r1-")


def test_a_write_is_readable_from_every_database_replica(lab: Lab) -> None:
    key = f"test-{uuid.uuid4().hex[:8]}"
    response = client.request("POST", "/write", {"key": key, "value": "hello"})
    assert response.ok, response
    for zone in t.PG_ZONES:
        value, waited = wait_for(lambda zone=zone: _value_on_member(zone, key), timeout_s=10, interval_s=0.1)
        assert value == "hello", f"pg-{zone} did not have {key} after {waited:.1f}s"
    assert client.request("GET", f"/read?key={key}").body["value"] == "hello"


def test_signal_readers_report_the_healthy_lab(lab: Lab) -> None:
    assert signals.patroni_leader()["leader"] == f"pg-{t.PG_INITIAL_PRIMARY}"
    assert all(answer["regions"] == ["r1"] for answer in signals.dns_answers().values())
    assert all(view["ok"] for view in signals.haproxy_servers(lab.state_dir).values())
    assert set(signals.replication_lag()["lag_bytes"]) == {f"pg-{z}" for z in t.PG_ZONES[1:]}


def test_az_power_loss_keeps_reads_served_and_heals_after_revert(lab: Lab, tmp_path) -> None:
    timeline = Timeline()
    fault = AzLoss({"region": "r1", "az": "b", "mode": "power", "state_dir": str(lab.state_dir)})
    with Probe(interval_s=0.05, workers=3) as probe:
        time.sleep(1.0)
        with injected(fault, ledger=Ledger(tmp_path / "ledger"), timeline=timeline):
            lb_down, detect_s = wait_for(
                lambda: not signals.haproxy_servers(lab.state_dir)["lb-r1-b"]["ok"]
                and signals.haproxy_servers(lab.state_dir)["lb-r1-a"]["servers"]["app/app-r1-b"] == "DOWN",
                timeout_s=10, interval_s=0.1)
            assert lb_down, "HAProxy never marked app-r1-b DOWN"
            dns_moved, dns_s = wait_for(
                lambda: all(a["addresses"] == [t.place("r1-a").address] for a in signals.dns_answers().values()),
                timeout_s=10, interval_s=0.1)
            assert dns_moved, f"DNS still answers the lost LB node: {signals.dns_answers()}"
            time.sleep(3.0)
        reverted_at = time.monotonic()
        healthy, heal_s = wait_for(lambda: _healthy(lab), timeout_s=60, interval_s=0.5)
    print(f"\nAZ power loss r1-b: {len(probe.results)} reads at {probe.rate_hz:.1f} Hz, {len(probe.failed)} failed "
          f"(goal 0); LB detection {detect_s:.2f}s, DNS {dns_s:.2f}s; healthy {heal_s:.1f}s after revert")
    assert healthy, lab.status()
    assert reverted_at and probe.rate_hz > 12
    assert len(probe.failed) <= len(probe.results) * 0.01, probe.failed[:5]
    assert timeline.first_event(EventKind.FAULT_VERIFIED) is not None


def test_region_loss_fails_over_to_region_2_and_region_1_rejoins(lab: Lab, tmp_path) -> None:
    fault = RegionLoss({"region": "r1", "mode": "partition", "state_dir": str(lab.state_dir)})
    with Probe(method="POST", path="/write", interval_s=0.1,
               payload=lambda n: {"key": f"region-{n}", "value": str(n)}) as writes:
        time.sleep(1.0)
        with injected(fault, ledger=Ledger(tmp_path / "ledger")):
            t0 = time.monotonic()
            dns_moved, dns_s = wait_for(
                lambda: all(a["regions"] == ["r2"] for a in signals.dns_answers().values()),
                timeout_s=15, interval_s=0.2)
            assert dns_moved, signals.dns_answers()
            promoted, leader_s = wait_for(lambda: signals.patroni_leader()["region"] == "r2",
                                          timeout_s=60, interval_s=0.2)
            assert promoted, signals.patroni_leader()
            resumed, _ = wait_for(lambda: writes.all_ok_since(time.monotonic() - 1.0), timeout_s=20,
                                  interval_s=0.2)
            writes_s = time.monotonic() - t0
            assert resumed, writes.results[-5:]
        healthy, heal_s = wait_for(lambda: _healthy(lab), timeout_s=90, interval_s=0.5)
    print(f"\nregion loss r1: DNS -> r2 {dns_s:.1f}s, Patroni promoted r2 {leader_s:.1f}s, "
          f"writes resumed {writes_s:.1f}s after t0; {len(writes.failed)}/{len(writes.results)} writes failed; "
          f"healthy {heal_s:.1f}s after revert")
    assert healthy, lab.status()
    members = signals.patroni_leader()["members"]
    assert {name for name, m in members.items() if m["state"] == "streaming"} >= {"pg-r1-a", "pg-r1-b"}
