"""Create and remove the lab's bridge and namespaces; cap cross-region replication bandwidth.

Everything here is idempotent: ``create`` skips what exists, ``destroy`` skips what is gone.
"""

from __future__ import annotations

import os
import subprocess

from zerospof.errors import LabError
from zerospof.lab import topology
from zerospof.lab.topology import BRIDGE, BRIDGE_ADDRESS, PREFIX_LENGTH, Place

__all__ = [
    "create", "destroy", "existing_namespaces", "namespace_pids", "replication_cap_kbit",
    "set_replication_cap",
]

NETNS_DIR = "/run/netns"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and result.returncode != 0:
        raise LabError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def _link_exists(device: str, namespace: str | None = None) -> bool:
    prefix = ["-n", namespace] if namespace else []
    return _ip(*prefix, "link", "show", "dev", device, check=False).returncode == 0


def existing_namespaces() -> list[str]:
    """Names of the lab's network namespaces (one per place of the topology) that exist now.

    Other ``zs-`` namespaces (e.g. a test's scratch namespace) are not the lab's and are left alone.
    """
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    ours = {place.namespace for place in topology.all_places()}
    return sorted(name for name in names if name in ours)


def _create_place(place: Place) -> None:
    ns = place.namespace
    if ns not in existing_namespaces():
        _ip("netns", "add", ns)
    if not _link_exists(place.host_device):
        if _link_exists(place.device, ns):
            _ip("-n", ns, "link", "del", place.device)
        _ip("link", "add", place.host_device, "type", "veth", "peer", "name", place.device, "netns", ns)
    _ip("link", "set", place.host_device, "master", BRIDGE, "up")
    _ip("-n", ns, "link", "set", "lo", "up")
    _ip("-n", ns, "addr", "replace", f"{place.address}/{PREFIX_LENGTH}", "dev", place.device)
    _ip("-n", ns, "link", "set", place.device, "up")


def create() -> None:
    """Create the bridge (with the host's lab address) and every namespace, wired and up."""
    if not _link_exists(BRIDGE):
        _ip("link", "add", BRIDGE, "type", "bridge")
    _ip("addr", "replace", f"{BRIDGE_ADDRESS}/{PREFIX_LENGTH}", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")
    for place in topology.all_places():
        _create_place(place)


def namespace_pids(namespace: str) -> list[int]:
    """Pids of every process whose network namespace is ``namespace`` (none if it is gone)."""
    try:
        target = os.stat(os.path.join(NETNS_DIR, namespace))
    except FileNotFoundError:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            found = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        if (found.st_dev, found.st_ino) == (target.st_dev, target.st_ino):
            pids.append(int(entry))
    return pids


def destroy() -> None:
    """Delete every ``zs-`` namespace, the host veth ends and the bridge. Idempotent.

    Callers must kill the namespaces' processes first (a namespace with live processes
    loses its name but keeps existing).
    """
    for ns in existing_namespaces():
        _ip("netns", "del", ns, check=False)
    for place in topology.all_places():
        if _link_exists(place.host_device):
            _ip("link", "del", place.host_device, check=False)
    if _link_exists(BRIDGE):
        _ip("link", "del", BRIDGE, check=False)


def _tc(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["tc", *args], capture_output=True, text=True, timeout=10)
    if check and result.returncode != 0:
        raise LabError(f"tc {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def set_replication_cap(kbit: int | None, region: str = "r2") -> None:
    """Cap PostgreSQL traffic flowing into ``region``'s zones from other regions at ``kbit`` kbit/s.

    Uses an HTB qdisc on the host end of each of the region's veths (egress toward the zone),
    matching TCP source port 5432 from outside the region. ``None`` removes the cap. Idempotent.

    The capped class queues at most :func:`_capped_queue_bytes` (about 3 s of the cap): the backlog
    stays in the sender's socket, as on a thin WAN link, and is lost with the region. With the
    device's default 1000-packet queue, minutes of backlog sat on the host and drained into the
    standby *after* the region was cut off, hiding the lag the cap is there to create (RPO 0 at 8 kbit).
    """
    for place in topology.zones_of_region(region):
        device = place.host_device
        _tc("qdisc", "del", "dev", device, "root", check=False)
        if kbit is None:
            continue
        _tc("qdisc", "add", "dev", device, "root", "handle", "1:", "htb", "default", "10")
        _tc("class", "add", "dev", device, "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit")
        _tc("class", "add", "dev", device, "parent", "1:", "classid", "1:20", "htb",
            "rate", f"{kbit}kbit", "ceil", f"{kbit}kbit")
        _tc("qdisc", "add", "dev", device, "parent", "1:20", "handle", "20:", "bfifo",
            "limit", str(_capped_queue_bytes(kbit)))
        for other in topology.REGIONS:
            if other == region:
                continue
            subnet = f"10.77.{topology.REGIONS.index(other) + 1}.0/24"
            _tc("filter", "add", "dev", device, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                "match", "ip", "src", subnet, "match", "ip", "sport", str(topology.PG_PORT), "0xffff",
                "flowid", "1:20")


def _capped_queue_bytes(kbit: int, seconds: float = 3.0) -> int:
    """Bytes the capped class may queue: ``seconds`` of the cap, at least two full Ethernet frames."""
    return max(2 * 1514, int(kbit * 1000 / 8 * seconds))


def replication_cap_kbit(region: str = "r2") -> int | None:
    """Return the cap :func:`set_replication_cap` installed for ``region`` (kbit/s), or None."""
    device = topology.zones_of_region(region)[0].host_device
    result = _tc("class", "show", "dev", device, check=False)
    for line in result.stdout.splitlines():
        if "1:20" in line and " rate " in line:
            rate = line.split(" rate ", 1)[1].split()[0]
            return _to_kbit(rate)
    return None


def _to_kbit(rate: str) -> int:
    units = {"Kbit": 1, "Mbit": 1000, "Gbit": 1_000_000, "bit": 0.001}
    for unit, factor in units.items():
        if rate.endswith(unit):
            return int(float(rate[: -len(unit)]) * factor)
    return int(rate)
