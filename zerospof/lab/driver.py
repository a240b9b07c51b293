"""The lab's side of a scenario (see :class:`zerospof.scenario.Driver`).

Users are simulated from the ``zs-client`` namespace through the lab's real DNS servers and
HAProxy nodes. Detection signals are the components' own views, read from the host:

- ``signal:lb-health-check``: an HAProxy node has marked an app server of a lost zone DOWN;
- ``signal:dns-health-check``: a DNS server stopped answering a lost zone's LB node
  (AZ loss) or answers only with the DR region (region loss);
- ``signal:patroni-failover``: Patroni's leader moved out of the lost region.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zerospof.errors import LabError, ZerospofError
from zerospof.faults import Fault
from zerospof.lab import client, signals
from zerospof.lab import topology as t
from zerospof.lab.faults import AzLoss, RegionLoss
from zerospof.lab.lab import Lab
from zerospof.monitors import ProbeFailed, Sampler
from zerospof.objectives import Objectives
from zerospof.scenario import AVAILABILITY, WRITE_CANARY, Monitoring
from zerospof.timeline import Timeline

__all__ = ["LabDriver", "DEFAULT_FAULTS"]

DEFAULT_FAULTS: dict[str, dict[str, Any]] = {
    "az-failure": {"region": "r1", "az": "a", "mode": "partition"},
    "region-failure": {"region": "r1", "mode": "partition"},
}
MAX_OBSERVATION_S = 15 * 60  # every sampler stops by itself after this
SIGNAL_INTERVAL_S = 0.1
CANARY_INTERVAL_S = 0.2
CANARY_PREFIX = "canary"
USER_CONCURRENCY = 64  # open-loop users: slow answers (up to the client's 3 s timeout) must not lower the rate


def _lost_zones(scenario: str, options: dict[str, Any]) -> list[str]:
    merged = {**DEFAULT_FAULTS.get(scenario, {}), **options}
    if scenario == "az-failure":
        return [t.zone(merged["region"], merged["az"]).name]
    if scenario == "region-failure":
        return [z.name for z in t.zones_of_region(merged["region"])]
    raise LabError(f"the lab has no {scenario!r} scenario yet")


def read_app() -> dict[str, Any]:
    """One user read through DNS + LB from the client namespace; raise on any failure."""
    try:
        response = client.request("GET", "/read")
    except client.ClientError as exc:
        raise ProbeFailed(str(exc)) from exc
    if not response.ok:
        raise ProbeFailed(f"HTTP {response.status} from {response.address}")
    return {"status": response.status, "zone": (response.body or {}).get("zone"), "lb": response.address,
            "dns": response.dns_server, "latency_s": round(response.elapsed_s, 4)}


def _write_canary(run_id: str) -> Callable[[], dict[str, Any]]:
    sequence = iter(range(10**9))

    def write() -> dict[str, Any]:
        seq = next(sequence)
        try:
            response = client.request("POST", "/write", {"key": f"{CANARY_PREFIX}:{run_id}:{seq}", "value": str(seq)})
        except client.ClientError as exc:
            raise ProbeFailed(f"seq {seq}: {exc}") from exc
        if not response.ok:
            raise ProbeFailed(f"seq {seq}: HTTP {response.status}")
        return {"seq": seq, "zone": (response.body or {}).get("zone")}
    return write


def _lb_signal(lost: list[str], state_dir: Path) -> Callable[[], dict[str, Any]]:
    servers = {f"app/app-{zone}" for zone in lost}

    def probe() -> dict[str, Any]:
        view = signals.haproxy_servers(state_dir, timeout_s=0.3)
        down = sorted(f"{lb}:{server}" for lb, state in view.items() if state["ok"]
                      for server, status in state["servers"].items() if server in servers and status != "UP")
        return {"detected": bool(down), "down": down}
    return probe


def _dns_signal(scenario: str, lost: list[str]) -> Callable[[], dict[str, Any]]:
    lost_lbs = {t.place(zone).address for zone in lost if any(zone in zones for zones in t.LB_ZONES.values())}
    lost_regions = {t.place(zone).region for zone in lost}

    def probe() -> dict[str, Any]:
        answers = signals.dns_answers(timeout_s=0.3)
        if scenario == "region-failure":
            moved = [name for name, a in answers.items() if a["ok"] and a["regions"] and not lost_regions & set(a["regions"])]
        else:
            moved = [name for name, a in answers.items() if a["ok"] and a["addresses"] and not lost_lbs & set(a["addresses"])]
        return {"detected": bool(moved), "servers_failed_over": moved,
                "answers": {name: a.get("addresses") for name, a in answers.items()}}
    return probe


def _patroni_signal(lost: list[str]) -> Callable[[], dict[str, Any]]:
    lost_regions = {t.place(zone).region for zone in lost}

    def probe() -> dict[str, Any]:
        leader = signals.patroni_leader(timeout_s=0.3)
        moved = leader["leader"] is not None and leader["region"] not in lost_regions
        return {"detected": moved, "leader": leader["leader"], "timeline": leader["timeline"]}
    return probe


class LabDriver:
    """Scenarios on the embedded lab (``zerospof lab up`` first, or let ``zerospof run`` do it)."""

    def __init__(self, lab: Lab | None = None) -> None:
        self.lab = lab or Lab()

    def check_ready(self) -> None:
        status = self.lab.status()
        if not status["supervisor"]:
            raise LabError("the lab is not running: run 'zerospof lab up'")
        sick = [name for name, state in status["components"].items() if not state["healthy"]]
        if sick:
            raise LabError(f"lab components not healthy: {', '.join(sick)}")

    def healthy(self) -> bool:
        try:
            self.check_ready()
        except ZerospofError:
            return False
        return True

    def serving(self) -> bool:
        for _ in range(3):
            try:
                read_app()
            except ProbeFailed:
                return False
        return True

    def restore(self) -> bool:
        """Move the database primary back to its reference place (Patroni switchover); True once it is there.

        Failover does not fail back by itself; scenarios start from the reference state, so the
        next region failure really loses the primary. Idempotent.
        """
        leader = signals.patroni_leader(timeout_s=1.0)
        reference = f"pg-{t.PG_INITIAL_PRIMARY}"
        if leader["leader"] == reference:
            return True
        if leader["leader"] is None or leader["members"].get(reference, {}).get("state") not in ("streaming", "running"):
            return False
        address = t.place(leader["leader"].removeprefix("pg-")).address
        body = json.dumps({"leader": leader["leader"], "candidate": reference}).encode()
        request = urllib.request.Request(f"http://{address}:{t.PATRONI_PORT}/switchover", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except (OSError, urllib.error.URLError):
            return False
        return False

    def fault(self, scenario: str, options: dict[str, Any]) -> Fault:
        merged = {**DEFAULT_FAULTS.get(scenario, {}), **options, "state_dir": str(self.lab.state_dir)}
        if scenario == "az-failure":
            return AzLoss(merged)
        if scenario == "region-failure":
            return RegionLoss(merged)
        raise LabError(f"the lab has no {scenario!r} scenario yet")

    def _signals(self, scenario: str, lost: list[str]) -> dict[str, Callable[[], dict[str, Any]]]:
        found = {"signal:dns-health-check": _dns_signal(scenario, lost)}
        if scenario == "az-failure":
            found["signal:lb-health-check"] = _lb_signal(lost, Path(self.lab.state_dir))
        if scenario == "region-failure" or any(zone in t.PG_ZONES for zone in lost):
            found["signal:patroni-failover"] = _patroni_signal(lost)
        return found

    def monitoring(self, scenario: str, timeline: Timeline, objectives: Objectives, run_id: str,
                   options: dict[str, Any] | None = None) -> Monitoring:
        lost = _lost_zones(scenario, options or {})
        probes = self._signals(scenario, lost)
        samplers = [Sampler(AVAILABILITY, read_app, timeline, interval_s=1 / objectives.availability_rate_hz,
                            max_duration_s=MAX_OBSERVATION_S, concurrency=USER_CONCURRENCY)]
        samplers += [Sampler(name, probe, timeline, interval_s=SIGNAL_INTERVAL_S, max_duration_s=MAX_OBSERVATION_S)
                     for name, probe in probes.items()]
        if "rpo_s" in objectives.scenario(scenario).limits:
            samplers.append(Sampler(WRITE_CANARY, _write_canary(run_id), timeline, interval_s=CANARY_INTERVAL_S,
                                    max_duration_s=MAX_OBSERVATION_S, concurrency=3))
        return Monitoring(samplers, list(probes))

    def recovered(self, scenario: str, options: dict[str, Any] | None = None) -> bool:
        lost = _lost_zones(scenario, options or {})
        views = [probe() for probe in self._signals(scenario, lost).values()]
        return all(view["detected"] for view in views) and self.serving()

    def read_back(self, run_id: str) -> list[int]:
        import psycopg

        leader = signals.patroni_leader(timeout_s=1.0)
        if leader["leader"] is None:
            raise LabError("no PostgreSQL primary to read the canary back from")
        address = t.place(leader["leader"].removeprefix("pg-")).address
        with psycopg.connect(host=address, port=t.PG_PORT, user="postgres", dbname="postgres",
                             connect_timeout=3) as connection:
            rows = connection.execute("SELECT key FROM zs_kv WHERE key LIKE %s",
                                      (f"{CANARY_PREFIX}:{run_id}:%",)).fetchall()
        return sorted(int(key.rsplit(":", 1)[1]) for (key,) in rows)

    def commit_canary(self, run_id: str) -> str:
        raise LabError("the lab has no GitOps canary yet")
