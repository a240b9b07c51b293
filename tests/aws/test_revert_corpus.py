"""``zerospof revert`` over damaged and tampered ledgers next to one real open fault (a moto server stands in for AWS).

The real fault is always reverted; every other file is reported (file, why) and left alone; nothing
outside zerospof's marker tag is touched; a bad ``--ledger`` is bad input; Ctrl-C is held until the
revert is done; a read-only ledger directory still reverts.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import pytest

from tests.aws.moto_world import ACCOUNT, REGION, TAGS, ZONES, acl_ids, associations, make_staging_vpc
from tests.helpers import REPO, wait_for
from zerospof.aws.nacl_blackhole import NaclBlackhole
from zerospof.cli import main
from zerospof.faults import Ledger, apply

NACL = "zerospof.aws.nacl_blackhole:NaclBlackhole"


def open_blackhole(endpoint: str, ledger_dir: Path) -> dict:
    """Blackhole the first AZ's tagged subnets through the ledger (as a killed run would leave it); return the record."""
    fault = NaclBlackhole({"region": REGION, "availability_zones": [ZONES[0]], "selection_tags": dict(TAGS),
                           "allowed_account_ids": [ACCOUNT], "runner_subnet_ids": [], "endpoint_url": endpoint})
    record = apply(fault, Ledger(ledger_dir), run_id="killed-run")
    return copy.deepcopy(record.data)


@pytest.fixture
def world(moto_server):
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto_server)
    staging = make_staging_vpc(ec2)
    foreign = ec2.create_network_acl(VpcId=staging["vpc_id"], TagSpecifications=[{
        "ResourceType": "network-acl", "Tags": [{"Key": "team", "Value": "not-zerospof"}]}])["NetworkAcl"]["NetworkAclId"]
    association = next(a for acl in ec2.describe_network_acls()["NetworkAcls"] for a in acl.get("Associations", [])
                       if a["SubnetId"] == staging["untagged"])
    ec2.replace_network_acl_association(AssociationId=association["NetworkAclAssociationId"], NetworkAclId=foreign)
    return {"ec2": ec2, "endpoint": moto_server, "foreign": foreign, **staging}


def tampered(real: dict, world: dict) -> dict[str, object]:
    """Damaged and tampered files, by name: each must be refused or fail, and touch nothing of the real fault's."""
    def edit(**changes):
        data = copy.deepcopy(real)
        data.update(changes)
        return data

    without = lambda key: {k: v for k, v in real.items() if k != key}  # noqa: E731
    default_acl = associations(world["ec2"])[world["tagged"][ZONES[1]][0]]
    return {
        "empty": "",
        "list": [],
        "not-json": "{ this is not json",
        "no-state": without("state"),
        "unknown-state": edit(state="half-done"),
        "no-description": without("description"),
        "no-steps": without("steps"),
        "steps-not-a-list": edit(steps="all of them"),
        "params-not-a-mapping": edit(params=["region"]),
        "foreign-module": edit(fault="evil_sentinel:Evil"),
        "stdlib-callable": edit(fault="os:system"),
        "zerospof-module-not-a-fault": edit(fault="zerospof.faults.base:importlib.import_module"),
        "composite-with-foreign-child": edit(fault="zerospof.faults.composite:AllOf",
                                             params={"children": [{"fault": "evil_sentinel:Evil", "params": {}}]},
                                             undo={"children": [{}]}),
        "other-account": edit(identity={"aws_account": "999999999999"},
                              params={**real["params"], "allowed_account_ids": [ACCOUNT, "999999999999"]}),
        "no-identity": without("identity"),
        "duplicate-state-key": json.dumps(real)[:-1] + ', "state": "reverted"}',  # last-wins would hide it
        "foreign-nacl-claimed-as-ours": edit(undo={
            "marker": "not-a-marker-of-ours", "deny_acls": {world["vpc_id"]: world["foreign"]}, "swapped": [world["untagged"]],
            "subnets": [{"subnet_id": world["untagged"], "vpc_id": world["vpc_id"], "availability_zone": ZONES[0],
                         "original_acl_id": default_acl}]}),
    }


def write_corpus(ledger_dir: Path, corpus: dict[str, object]) -> None:
    for name, content in corpus.items():
        (ledger_dir / f"0-{name}.json").write_text(content if isinstance(content, str) else json.dumps(content))


def test_revert_reverts_the_real_fault_and_reports_every_damaged_or_tampered_record(world, tmp_path, capsys,
                                                                                     monkeypatch):
    ec2, ledger_dir = world["ec2"], tmp_path / "ledger"
    (tmp_path / "evil_sentinel.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\nclass Evil: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before, acls_before = associations(ec2), acl_ids(ec2)
    real = open_blackhole(world["endpoint"], ledger_dir)
    assert associations(ec2) != before  # the real fault is in effect
    corpus = tampered(real, world)
    write_corpus(ledger_dir, corpus)

    status = main(["revert", "--ledger", str(ledger_dir)])

    out = capsys.readouterr().out
    assert status == 1  # some files could not be handled
    assert associations(ec2) == before and acl_ids(ec2) == acls_before  # the real one reverted, the foreign NACL kept
    assert associations(ec2)[world["untagged"]] == world["foreign"]
    assert not (tmp_path / "imported").exists()  # nothing named in a record was imported
    assert f"{real['id']}.json: nacl-blackhole" in out and "reverted" in out
    lines = {line.split(":")[0]: line for line in out.splitlines()}
    for name in corpus:
        line = lines.get(f"0-{name}.json")
        assert line is not None and ("REFUSED" in line or "FAILED" in line), (name, out)
    assert "missing 'state'" in lines["0-no-state.json"] and "unknown state 'half-done'" in lines["0-unknown-state.json"]
    assert "not zerospof's own" in lines["0-foreign-module.json"] and "999999999999" in lines["0-other-account.json"]
    assert "not ours; left alone" in lines["0-foreign-nacl-claimed-as-ours.json"]
    assert "duplicate key(s) ['state']" in lines["0-duplicate-state-key.json"]
    assert json.loads((ledger_dir / f"{real['id']}.json").read_text())["state"] == "reverted"
    assert oct(os.stat(ledger_dir / f"{real['id']}.json").st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("make", [lambda p: p / "no-such-dir", lambda p: (p / "a-file").touch() or p / "a-file"],
                         ids=["mistyped", "a-file"])
def test_a_ledger_path_that_is_not_a_directory_is_bad_input(tmp_path, capsys, make):
    assert main(["revert", "--ledger", str(make(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "--ledger" in err and "directory" in err


def _run_cli(args: list[str], *, drop_root_override: bool = False, **kwargs) -> subprocess.Popen:
    """Start ``python ARGS`` in the repository; ``drop_root_override``: as root, without the capabilities that let
    root ignore file permissions (so a 0500 directory is really read-only to the child)."""
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if drop_root_override and os.geteuid() == 0 else []
    return subprocess.Popen([*prefix, sys.executable, *args], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_a_read_only_ledger_directory_still_reverts_and_says_the_record_stays_open(world, tmp_path):
    ec2, ledger_dir = world["ec2"], tmp_path / "ledger"
    before = associations(ec2)
    real = open_blackhole(world["endpoint"], ledger_dir)
    ledger_dir.chmod(0o500)
    try:
        child = _run_cli(["-m", "zerospof.cli", "revert", "--ledger", str(ledger_dir)], drop_root_override=True)
        out, err = child.communicate(timeout=60)
    finally:
        ledger_dir.chmod(0o700)
    assert "Traceback" not in err
    assert child.returncode == 1
    assert associations(ec2) == before
    assert f"{real['id']}.json: nacl-blackhole" in out and "reverted; but could not update" in out
    assert [r.id for r in Ledger(ledger_dir).open_records()] == [real["id"]]  # still open: reverting again is harmless
    assert main(["revert", "--ledger", str(ledger_dir)]) == 0 and associations(ec2) == before


CTRL_C_CHILD = textwrap.dedent('''
    """Test stand-in: the real CLI, with NaclBlackhole.revert made to wait for the parent's go (after its Ctrl-Cs)."""
    import sys, time
    from pathlib import Path
    from zerospof.aws.nacl_blackhole import NaclBlackhole
    from zerospof.cli import main

    ready, go = Path(sys.argv[2]), Path(sys.argv[3])
    real_revert = NaclBlackhole.revert

    def revert_when_told(self):
        ready.write_text("reverting")
        for _ in range(600):
            if go.exists():
                break
            time.sleep(0.05)
        real_revert(self)

    NaclBlackhole.revert = revert_when_told
    sys.exit(main(["revert", "--ledger", sys.argv[1]]))
''')


def test_ctrl_c_three_times_during_revert_is_held_the_revert_finishes_and_exits_130_with_the_report(world, tmp_path):
    ec2, ledger_dir = world["ec2"], tmp_path / "ledger"
    before = associations(ec2)
    real = open_blackhole(world["endpoint"], ledger_dir)
    script, ready, go = tmp_path / "revert_ctrl_c.py", tmp_path / "ready", tmp_path / "go"
    script.write_text(CTRL_C_CHILD)
    child = _run_cli([str(script), str(ledger_dir), str(ready), str(go)])
    try:
        assert wait_for(ready.exists, 30)[0], "the revert never started"
        for _ in range(3):
            child.send_signal(signal.SIGINT)
            wait_for(lambda: False, 0.1)
        go.touch()
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert "Traceback" not in err and child.returncode == 130
    assert f"{real['id']}.json: nacl-blackhole" in out and "reverted" in out and "interrupted (3 signal(s)" in err
    assert associations(ec2) == before and Ledger(ledger_dir).open_records() == []
