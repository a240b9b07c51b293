"""A run SIGKILLed in the middle of an AZ blackhole leaves a ledger that restores every association.

The injecting run is a child process talking to a moto server on 127.0.0.1, so the AWS state it
changed survives its death; the parent then does what ``zerospof revert`` does.
"""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path

import boto3
import pytest

from tests.aws.moto_world import ACCOUNT, REGION, TAGS, ZONES, acl_ids, associations, make_staging_vpc
from tests.helpers import sigkill_when_ready
from zerospof.faults import Ledger

CHILD = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from zerospof.aws.nacl_blackhole import NaclBlackhole
    from zerospof.faults import Ledger, injected

    endpoint, ledger_dir, ready, swaps_before_stall = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    checkpoint = NaclBlackhole.checkpoint

    def stall_mid_injection(self):
        checkpoint(self)
        if self.undo.get("deny_acls") and len(self.undo.get("swapped", [])) >= swaps_before_stall:
            ready.write_text("stalled")
            time.sleep(120)

    NaclBlackhole.checkpoint = stall_mid_injection
    fault = NaclBlackhole({"region": "%s", "availability_zones": ["%s"], "selection_tags": %r,
                           "allowed_account_ids": ["%s"], "runner_subnet_ids": [], "endpoint_url": endpoint})
    with injected(fault, ledger=Ledger(ledger_dir)):
        time.sleep(120)
''' % (REGION, ZONES[0], TAGS, ACCOUNT))


def run_child_until_stalled(endpoint: str, ledger_dir: Path, tmp_path: Path, swaps: int) -> None:
    ready = tmp_path / "ready"
    script = tmp_path / "inject_and_stall.py"
    script.write_text(CHILD)
    status = sigkill_when_ready([sys.executable, str(script), endpoint, str(ledger_dir), str(ready), str(swaps)], ready)
    assert status == -signal.SIGKILL


@pytest.mark.parametrize("swaps", [0, 1], ids=["after-deny-acl-created", "after-first-swap"])
def test_revert_open_restores_every_association_after_a_sigkill_mid_injection(moto_server, tmp_path, swaps):
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto_server)
    world = make_staging_vpc(ec2)
    before, acls_before = associations(ec2), acl_ids(ec2)
    ledger_dir = tmp_path / "ledger"

    run_child_until_stalled(moto_server, ledger_dir, tmp_path, swaps)

    during = associations(ec2)
    assert acl_ids(ec2) != acls_before  # the deny-all NACL exists
    swapped = [s for s in world["tagged"][ZONES[0]] if during[s] != before[s]]
    assert len(swapped) == swaps
    [record] = Ledger(ledger_dir).open_records()
    assert record.data["state"] == "injecting"

    reports = Ledger(ledger_dir).revert_open()

    assert [report.reverted for report in reports] == [True]
    assert associations(ec2) == before
    assert acl_ids(ec2) == acls_before
    assert Ledger(ledger_dir).open_records() == []
