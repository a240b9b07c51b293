"""The lab's fixed layout: namespaces, addresses, ports and what runs where (pure data, no I/O).

Every address is in ``10.77.0.0/16``, used only on the bridge ``zs-br0`` and inside the lab's
``zs-*`` network namespaces. Namespaces get no default route, so nothing leaves the machine.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "APP_NAME", "APP_PORT", "BRIDGE", "BRIDGE_ADDRESS", "CLIENT", "DB_READ_PORT", "DB_WRITE_PORT",
    "DNS_SERVERS", "DNS_ZONE", "ETCD_CLIENT_PORT", "ETCD_PEER_PORT", "ETCD_PLACES", "GIT_HOSTS", "GIT_PORT", "LB_PORT",
    "LB_ZONES", "PATRONI_PORT", "PATRONI_SCOPE", "PG_INITIAL_PRIMARY", "PG_PORT", "PG_ZONES",
    "PREFIX_LENGTH", "REGIONS", "AZS", "Place", "SECURITY_PORT", "SECURITY_ZONES", "SUBNET", "WITNESS", "ZONES",
    "all_places", "place", "security_endpoints", "zone", "zones_of_region",
]

SUBNET = "10.77.0.0/16"
PREFIX_LENGTH = 16
BRIDGE = "zs-br0"
BRIDGE_ADDRESS = "10.77.0.1"
DEVICE = "eth0"  # the device name inside every namespace

REGIONS = ("r1", "r2")
AZS = ("a", "b", "c")

APP_PORT = 8000
LB_PORT = 8080
DB_WRITE_PORT = 5000
DB_READ_PORT = 5001
PG_PORT = 5432
PATRONI_PORT = 8008
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
DNS_PORT = 53
GIT_PORT = 9418

DNS_ZONE = "zerospof.lab"
APP_NAME = f"app.{DNS_ZONE}"
PATRONI_SCOPE = "zs"


@dataclass(frozen=True)
class Place:
    """One network namespace of the lab: a zone (``r1-a``) or a utility place (``client``)."""

    name: str
    address: str
    region: str | None = None
    az: str | None = None

    @property
    def namespace(self) -> str:
        return f"zs-{self.name}"

    @property
    def host_device(self) -> str:
        """The host end of this place's veth pair (at most 15 characters)."""
        return f"zs-h-{self.name}"

    @property
    def device(self) -> str:
        return DEVICE


ZONES = tuple(
    Place(f"{region}-{az}", f"10.77.{r_index}.{a_index}", region, az)
    for r_index, region in enumerate(REGIONS, start=1)
    for a_index, az in enumerate(AZS, start=1)
)
CLIENT = Place("client", "10.77.9.1")
WITNESS = Place("witness", "10.77.8.1")
DNS_SERVERS = (Place("dns1", "10.77.7.1"), Place("dns2", "10.77.7.2"))  # primary, backup provider
# The primary git host and the mirror (the backup provider), each alone in its namespace, so that
# "the primary git host is unreachable" cuts only that host.
GIT_HOSTS = (Place("git1", "10.77.6.1"), Place("git2", "10.77.6.2"))

LB_ZONES = {"r1": ("r1-a", "r1-b"), "r2": ("r2-a", "r2-b")}  # redundant LB nodes per region
PG_ZONES = ("r1-a", "r1-b", "r2-a")
PG_INITIAL_PRIMARY = "r1-a"
ETCD_PLACES = ("r1-c", "r2-c", "witness")  # Patroni's DCS survives the loss of either region
SECURITY_ZONES = {"r1": "r1-c", "r2": "r2-c"}  # one key/secret service per region (KMS + Secrets Manager)
SECURITY_PORT = 4566


def security_endpoints(first_region: str | None = None) -> list[tuple[str, str]]:
    """``[(region, endpoint URL)]`` of the key/secret services, ``first_region``'s first."""
    found = [(region, f"http://{place(zone).address}:{SECURITY_PORT}") for region, zone in SECURITY_ZONES.items()]
    return sorted(found, key=lambda item: item[0] != first_region)


def all_places() -> tuple[Place, ...]:
    """Every namespace of the lab, zones first."""
    return ZONES + (WITNESS, CLIENT) + DNS_SERVERS + GIT_HOSTS


def place(name: str) -> Place:
    """Return the place called ``name`` (``r1-a``, ``witness``, ``dns1`` ...)."""
    for candidate in all_places():
        if candidate.name == name:
            return candidate
    raise KeyError(f"no lab place {name!r}; known: {[p.name for p in all_places()]}")


def zone(region: str, az: str) -> Place:
    """Return the zone ``region``-``az``; KeyError when it does not exist."""
    found = place(f"{region}-{az}")
    if found.region is None:
        raise KeyError(f"{region}-{az} is not a zone")
    return found


def zones_of_region(region: str) -> tuple[Place, ...]:
    """Return the zones of ``region``; KeyError for an unknown region."""
    if region not in REGIONS:
        raise KeyError(f"no region {region!r}; known: {list(REGIONS)}")
    return tuple(z for z in ZONES if z.region == region)
