"""The control plane's scheduler: a primary/standby pair elected through an etcd lease.

Run as ``python -m zerospof.lab.controlplane.scheduler --name NAME --etcd URL[,URL...]``
(two instances with different names; the name is also the supervisor component name).
Every ``--interval`` seconds each instance campaigns for ``/zerospof/leader/scheduler``; the leader
assigns every pending ``deployments`` object (one without ``assigned_by``), writing
``assigned_by=<name>``, ``assigned_at`` (epoch seconds) and ``assigned_term`` (its leader key's
create revision). Each assignment is a txn conditional on the object being unchanged and on our
leader key still being ours, so a deposed leader cannot assign anything.
SIGTERM: finish the current step, revoke the lease (the standby takes over at once), exit 0.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time

from zerospof.lab.controlplane.api_server import OBJECTS_PREFIX
from zerospof.lab.controlplane.election import LeaseElection
from zerospof.lab.controlplane.etcd_http import EtcdClient, EtcdUnavailable

__all__ = ["LEADER_KEY", "assign_pending", "main"]

LEADER_KEY = "/zerospof/leader/scheduler"
KIND = "deployments"


def assign_pending(etcd: EtcdClient, election: LeaseElection, name: str) -> int:
    """Assign every pending deployment to ``name`` while leading; return how many were assigned."""
    assigned = 0
    for kv in etcd.get_prefix(f"{OBJECTS_PREFIX}{KIND}/"):
        fence = election.fence
        if not fence:
            break
        try:
            item = json.loads(kv.value)
        except ValueError:
            continue
        if not isinstance(item, dict) or item.get("assigned_by"):
            continue
        item.update(assigned_by=name, assigned_at=time.time(), assigned_term=fence)
        compares = [EtcdClient.compare(kv.key, "MOD", kv.mod_revision),
                    EtcdClient.compare(LEADER_KEY, "CREATE", fence)]
        if etcd.put_if(kv.key, json.dumps(item), compares) is not None:
            assigned += 1
            print(f"scheduler {name}: assigned {item.get('id')}", flush=True)
    return assigned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zerospof.lab.controlplane.scheduler")
    parser.add_argument("--name", required=True)
    parser.add_argument("--etcd", required=True, help="comma-separated etcd client URLs")
    parser.add_argument("--ttl", type=int, default=2, help="lease TTL, seconds")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between steps")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    etcd = EtcdClient(args.etcd.split(","), timeout_s=0.5)
    election = LeaseElection(etcd, LEADER_KEY, args.name, ttl_s=args.ttl, keepalive_s=args.interval)
    print(f"scheduler {args.name} started, etcd {args.etcd}", flush=True)
    leading = False
    while not stop.is_set():
        try:
            now_leading = election.campaign()
            if now_leading != leading:
                print(f"scheduler {args.name}: {'leader' if now_leading else 'standby'}", flush=True)
                leading = now_leading
            if now_leading:
                assign_pending(etcd, election, args.name)
        except EtcdUnavailable as exc:
            print(f"scheduler {args.name}: etcd unavailable: {exc}", flush=True)
        stop.wait(args.interval)
    election.close()
    print(f"scheduler {args.name}: stopped, lease released", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
