"""What the lab driver observes for the ``control-plane`` scenario: detection signals, API writes, recovery.

Detection signals are the control plane's own reactions, each a probe returning ``{"detected", ...}``:

- :func:`etcd_leader_signal`: etcd elected a leader in a newer raft term than the first reading;
- :func:`scheduler_lease_signal`: the scheduler lease is held in a new term (the standby took it);
- :func:`api_lb_signal`: an API load-balancer node marked the killed API replica DOWN.

The baseline of the first two is their first good reading (the samplers start a few seconds before
the fault); only samples at or after t0 count for detection.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zerospof.lab import signals as lab_signals
from zerospof.lab import topology as t
from zerospof.lab.controlplane import layout, scheduler
from zerospof.lab.controlplane.signals import etcd_leader, lease_holder
from zerospof.monitors import ProbeFailed

__all__ = ["API_PROBE_KIND", "api_lb_signal", "api_lb_urls", "api_write", "etcd_leader_signal", "recovered",
           "scheduler_lease_signal"]

API_PROBE_KIND = "zerospof-probes"  # the kind of object API write probes create


def api_lb_urls() -> list[str]:
    """The API load balancer's addresses (region 1's LB nodes), in the order clients try them."""
    return [f"http://{t.place(zone).address}:{layout.API_LB_PORT}" for zone in t.LB_ZONES[t.REGIONS[0]]]


def api_write(timeout_s: float = 2.0) -> dict[str, Any]:
    """Create one object through the API load balancer (each LB node in turn); raise ProbeFailed when none took it."""
    body = json.dumps({"at": time.time()}).encode()
    errors = []
    for url in api_lb_urls():
        request = urllib.request.Request(f"{url}/objects/{API_PROBE_KIND}", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                created = json.load(response)
                return {"status": response.status, "lb": url, "served_by": created.get("created_by")}
        except urllib.error.HTTPError as exc:
            errors.append(f"{url}: HTTP {exc.code}")
        except (OSError, ValueError) as exc:
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
    raise ProbeFailed("; ".join(errors))


def _with_baseline(read: Callable[[dict[str, Any] | None], dict[str, Any]], good: Callable[[dict[str, Any]], bool],
                   keys: tuple[str, ...]) -> Callable[[], dict[str, Any]]:
    baseline: dict[str, Any] = {}

    def probe() -> dict[str, Any]:
        if not baseline:
            first = read(None)
            if not good(first):
                return {"detected": False, "baseline": None}
            baseline.update({key: first[key] for key in keys})
        found = read(dict(baseline))
        return {"detected": bool(found.get("detected")), "baseline": dict(baseline),
                **{key: found.get(key) for key in keys}}
    return probe


def etcd_leader_signal(timeout_s: float = 0.3) -> Callable[[], dict[str, Any]]:
    """Probe: ``detected`` once etcd has a leader in a newer raft term than the baseline."""
    endpoints = layout.etcd_endpoints()
    return _with_baseline(lambda baseline: etcd_leader(endpoints, baseline, timeout_s),
                          lambda view: bool(view["leader_id"]), ("leader", "leader_id", "raft_term"))


def scheduler_lease_signal(timeout_s: float = 0.3) -> Callable[[], dict[str, Any]]:
    """Probe: ``detected`` once the scheduler lease is held in a new term (the standby took over)."""
    endpoints = layout.etcd_endpoints()
    return _with_baseline(lambda baseline: lease_holder(endpoints, scheduler.LEADER_KEY, baseline, timeout_s),
                          lambda view: view["holder"] is not None, ("holder", "held_since_revision"))


def api_lb_signal(state_dir: Path, replica: str, timeout_s: float = 0.3) -> Callable[[], dict[str, Any]]:
    """Probe: ``detected`` once an API LB node that answers marks ``replica`` (``cp-api-r1-a``) not UP."""
    server = f"api/{replica}"
    lb_names = {f"lb-{zone}" for zone in t.LB_ZONES[t.REGIONS[0]]}

    def probe() -> dict[str, Any]:
        view = lab_signals.haproxy_servers(state_dir, timeout_s)
        down = sorted(f"{lb}:{server}" for lb, state in view.items()
                      if lb in lb_names and state["ok"] and state["servers"].get(server, "UP") != "UP")
        return {"detected": bool(down), "down": down}
    return probe


def recovered() -> dict[str, Any]:
    """Return ``{"recovered": bool, ...}``: etcd has a leader and a quorum, a scheduler leads, an API write works."""
    endpoints = layout.etcd_endpoints()
    leader = etcd_leader(endpoints, timeout_s=0.3)
    answering = sum(1 for view in leader["members"].values() if view["ok"])
    holder = lease_holder(endpoints, scheduler.LEADER_KEY, timeout_s=0.3)["holder"]
    view: dict[str, Any] = {"etcd_leader": leader["leader"], "etcd_answering": answering, "scheduler": holder}
    if not leader["leader"] or answering < len(endpoints) // 2 + 1 or holder is None:
        return {"recovered": False, **view}
    try:
        view["api_write"] = api_write(timeout_s=1.0)
    except ProbeFailed as exc:
        return {"recovered": False, **view, "api_write": str(exc)}
    return {"recovered": True, **view}
