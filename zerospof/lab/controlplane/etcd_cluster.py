"""Build the argv of each member of the control plane's 3-member etcd cluster.

Pure: no I/O. Timing follows the lab's measured settings (heartbeat 50 ms, election 500 ms:
a new leader 0.5-0.8 s after the old one is SIGKILLed). Pre-vote is on (etcd 3.5's default; 3.4's is
off): a member cut off by an AZ or region loss would otherwise raise its term every election timeout
while alone and depose the healthy leader when it comes back. The member name is also the name of
the component that runs it (faults kill members by that name).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EtcdMember", "client_urls", "cluster_argvs", "etcd_argv"]

HEARTBEAT_MS = 50
ELECTION_MS = 500


@dataclass(frozen=True)
class EtcdMember:
    """One etcd member: its name, listen address, ports and data dir."""

    name: str
    address: str
    client_port: int
    peer_port: int
    data_dir: str

    @property
    def client_url(self) -> str:
        return f"http://{self.address}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.address}:{self.peer_port}"


def etcd_argv(members: list[EtcdMember], name: str, *, token: str = "zerospof-cp",
              binary: str = "etcd") -> list[str]:
    """Return the argv that runs member ``name`` of the cluster ``members``.

    Restarting a member with the same argv resumes from its data dir (etcd ignores the
    ``--initial-*`` flags once the data dir holds a WAL), which is how revert restores it.
    """
    by_name = {member.name: member for member in members}
    if name not in by_name:
        raise KeyError(f"no etcd member {name!r}; known: {sorted(by_name)}")
    if len(by_name) != len(members):
        raise ValueError("etcd member names must be unique")
    me = by_name[name]
    cluster = ",".join(f"{member.name}={member.peer_url}" for member in members)
    return [
        binary, f"--name={me.name}", f"--data-dir={me.data_dir}",
        f"--listen-client-urls={me.client_url}", f"--advertise-client-urls={me.client_url}",
        f"--listen-peer-urls={me.peer_url}", f"--initial-advertise-peer-urls={me.peer_url}",
        f"--initial-cluster={cluster}", "--initial-cluster-state=new", f"--initial-cluster-token={token}",
        f"--heartbeat-interval={HEARTBEAT_MS}", f"--election-timeout={ELECTION_MS}", "--pre-vote=true",
        # info: each member logs its raft elections ("elected leader ... at term N"), ground truth for tests
        "--quota-backend-bytes=104857600", "--log-level=info", "--logger=zap",
    ]


def cluster_argvs(members: list[EtcdMember], *, token: str = "zerospof-cp",
                  binary: str = "etcd") -> dict[str, list[str]]:
    """Return ``{member name: argv}`` for every member."""
    return {member.name: etcd_argv(members, member.name, token=token, binary=binary) for member in members}


def client_urls(members: list[EtcdMember]) -> list[str]:
    """Client URLs of the members, in order (what API servers and schedulers are given)."""
    return [member.client_url for member in members]
