"""Lab faults: lose an AZ or a whole region, by partition or by power loss.

``partition`` sets each lost zone's namespace link down (a :class:`~zerospof.faults.link.LinkDown`
over the zones' ``eth0``): the zone's processes keep running but nothing reaches them.
``power`` also SIGKILLs every process in the lost zones through the lab supervisor (daemons and
their children, e.g. PostgreSQL under Patroni), after the links are down so no RST/FIN escapes.

Revert (idempotent, from params + undo alone): set the links up again, then ask the supervisor
to start the lost zones' components. The lab heals by itself afterwards (HAProxy marks servers UP,
DNS answers return, Patroni rejoins the old primary with pg_rewind).
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from zerospof.errors import FaultError, FaultNotInEffect, LabError
from zerospof.faults.base import Fault
from zerospof.faults.link import LinkDown
from zerospof.lab import network
from zerospof.lab import topology as t
from zerospof.lab.control import SupervisorClient
from zerospof.lab.lab import default_state_dir

__all__ = ["AzLoss", "RegionLoss", "ZoneLoss"]

_MODES = ("partition", "power")


class ZoneLoss(Fault):
    """Lose the zones in ``params["zones"]`` (``["r1-a", ...]``); base of AzLoss and RegionLoss.

    params: ``zones``, ``mode`` ("partition" | "power"), optional ``state_dir`` (the lab's).
    undo: ``links`` (the LinkDown's undo), ``powered_off`` (zones whose processes were killed).
    """

    kind = "zone-loss"

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        super().__init__(params, undo)
        mode = self.params.setdefault("mode", "partition")
        if mode not in _MODES:
            raise FaultError(f"{self.kind}: mode must be one of {_MODES}, got {mode!r}")
        self.params.setdefault("state_dir", str(default_state_dir()))
        self.params["zones"] = [self._zone(name).name for name in self._zone_names()]

    def _zone_names(self) -> list[str]:
        return list(self.params.get("zones", []))

    @staticmethod
    def _zone(name: str) -> t.Place:
        try:
            found = t.place(name)
        except KeyError as exc:
            raise FaultError(str(exc)) from exc
        if found.region is None:
            raise FaultError(f"{name} is not an AZ of the lab")
        return found

    def _places(self) -> list[t.Place]:
        return [self._zone(name) for name in self.params["zones"]]

    def _link_fault(self) -> LinkDown:
        links = [{"namespace": p.namespace, "device": p.device} for p in self._places()]
        return LinkDown({"links": links}, self.undo.get("links"))

    def _supervisor(self) -> SupervisorClient:
        return SupervisorClient(self.params["state_dir"])

    def prepare(self) -> None:
        if not self._supervisor().alive():
            raise FaultError(f"the lab is not running (no supervisor in {self.params['state_dir']})")
        links = self._link_fault()
        links.prepare()
        self.undo["links"] = links.undo
        self.undo["powered_off"] = []

    def inject(self) -> None:
        self._link_fault().inject()
        if self.params["mode"] == "power":
            namespaces = [p.namespace for p in self._places()]
            self.undo["powered_off"] = [p.name for p in self._places()]
            self.checkpoint()  # before the kill: revert must restart them even if we die now
            self._supervisor().kill_namespaces(namespaces)

    def verify(self) -> None:
        self._link_fault().verify()
        places = self._places()
        with ThreadPoolExecutor(len(places)) as pool:
            reachable = [place for place, answered in zip(places, pool.map(lambda p: _reachable(p.address), places))
                         if answered]
        if reachable:
            raise FaultNotInEffect(f"still reachable: {', '.join(p.name for p in reachable)}")
        for place in places:
            if self.params["mode"] == "power":
                alive = network.namespace_pids(place.namespace)
                if alive:
                    raise FaultNotInEffect(f"{place.name}: processes still running: {alive}")

    def revert(self) -> None:
        self._link_fault().revert()
        powered_off = set(self.undo.get("powered_off", []))
        if not powered_off:
            return
        client = self._supervisor()
        try:
            states = client.status()
        except LabError as exc:
            raise FaultError(f"cannot restart {sorted(powered_off)}: {exc}") from exc
        namespaces = {self._zone(name).namespace for name in powered_off}
        names = [name for name, state in states.items() if state["namespace"] in namespaces]
        client.start(names)


def _reachable(address: str, timeout_s: float = 0.1) -> bool:
    """Return True when the zone answers at all: a connect is accepted or actively refused.

    On the lab's bridge a reachable zone answers in well under a millisecond.
    """
    try:
        with socket.create_connection((address, t.APP_PORT), timeout=timeout_s):
            return True
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


class AzLoss(ZoneLoss):
    """Lose one AZ. params: ``region`` ("r1"), ``az`` ("a"), ``mode`` ("partition" | "power")."""

    kind = "az-loss"

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        params = dict(params or {})
        if "zones" not in params:
            try:
                params["zones"] = [t.zone(params["region"], params["az"]).name]
            except KeyError as exc:
                raise FaultError(f"az-loss needs a known region and az: {exc}") from exc
        super().__init__(params, undo)


class RegionLoss(ZoneLoss):
    """Lose every AZ of a region. params: ``region`` ("r1"), ``mode`` ("partition" | "power")."""

    kind = "region-loss"

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        params = dict(params or {})
        if "zones" not in params:
            try:
                params["zones"] = [z.name for z in t.zones_of_region(params["region"])]
            except KeyError as exc:
                raise FaultError(f"region-loss needs a known region: {exc}") from exc
        super().__init__(params, undo)
