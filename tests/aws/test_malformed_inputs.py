"""A table of malformed objectives, target and experiment files, each run through ``zerospof validate``,
``zerospof run --dry-run`` and ``zerospof run`` against moto: every one exits 2 naming the file, the key
path and the value, and neither moto's state nor the ledger directory shows that anything was injected.

An experiment case is the experiment of the scenario being run (``zerospof.run.experiment_path`` is
pointed at the malformed file: the runner path validates it exactly as it validates the repository's).
"Nothing injected" is shown three ways: moto's own request recorder saw no call that changes anything,
moto's NACL state is unchanged, and the ledger directory is empty.
A case whose error only the account can reveal (a zone the account lacks) passes ``validate`` and is
refused by ``run`` and ``--dry-run`` when they start, before the steady-state probe.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
import yaml
from moto import mock_aws
from moto.moto_api import recorder

from tests.aws.moto_world import REGION, acl_ids, associations, make_staging_vpc, target_document
from zerospof import run as run_module
from zerospof.cli import main

REPO = Path(__file__).resolve().parents[2]
SCENARIO = "az-failure"


def bomb(levels: int = 9) -> str:
    """A "billion laughs" document fragment: 9^levels values from a few hundred bytes."""
    text = 'lol0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for level in range(1, levels):
        text += f"lol{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]\n"
    return text


@dataclass(frozen=True)
class Case:
    """One malformed file: ``mutate`` turns the valid document into the file's bytes (or a changed document)."""

    kind: str  # objectives | target | experiment
    name: str
    mutate: Callable[[dict[str, Any]], Any]
    key: str  # the key path the error must name ('' = the file as a whole)
    value: str | None = None  # text the error must show as the bad value
    validate_catches: bool = True  # False: only the account can tell (checked when a run starts)


def setting(path: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Set ``a.b.c`` (list indexes as ``[0]`` parts) to ``value``."""
    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        parts = [int(p[1:-1]) if p.startswith("[") else p for p in path.replace("[", ".[").split(".")]
        node = data
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
        return data
    return mutate


def removing(path: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node.pop(last)
        return data
    return mutate


def appending(text: str) -> Callable[[dict[str, Any]], bytes]:
    """The valid document as YAML, then ``text`` (to give a key twice, or raw YAML the dumper cannot write)."""
    return lambda data: (yaml.safe_dump(data, sort_keys=False) + text).encode()


def raw(content: bytes) -> Callable[[dict[str, Any]], bytes]:
    return lambda data: content


def raw_value(path: str, text: str) -> Callable[[dict[str, Any]], bytes]:
    """Put ``text`` verbatim (YAML the dumper would quote or cannot write) at ``path``."""
    def mutate(data: dict[str, Any]) -> bytes:
        dumped = yaml.safe_dump(setting(path, "RAW-VALUE-HERE")(data), sort_keys=False)
        return dumped.replace("RAW-VALUE-HERE", text).encode()
    return mutate


def nested_in(key: str, depth: int = 80) -> Callable[[dict[str, Any]], bytes]:
    return appending(f"{key}:\n" + "".join("  " * (i + 1) + "k:\n" for i in range(depth)))


OBJECTIVES = [
    Case("objectives", "duplicate key, last wins", appending("measurement:\n  sustained-success: 1s\n"), "measurement"),
    Case("objectives", "nan detection", setting("scenarios.az-failure.detection", float("nan")),
         "scenarios.az-failure.detection", "nan"),
    Case("objectives", "inf downtime", setting("scenarios.az-failure.downtime", float("inf")),
         "scenarios.az-failure.downtime", "inf"),
    Case("objectives", "overflowing rto", raw_value("scenarios.region-failure.rto", "1.0e+400"),
         "scenarios.region-failure.rto", "inf"),
    Case("objectives", "duration in parsecs", setting("scenarios.az-failure.detection", "5 parsecs"),
         "scenarios.az-failure.detection", "5 parsecs"),
    Case("objectives", "negative duration", setting("scenarios.gitops.rto", "-1s"), "scenarios.gitops.rto", "-1s"),
    Case("objectives", "availability above 100%", setting("components.dns.availability", "101%"),
         "components.dns.availability", "101%"),
    Case("objectives", "full-width digits", setting("components.dns.availability", "\uff19\uff19%"),
         "components.dns.availability", "\uff19\uff19%"),
    Case("objectives", "Arabic-Indic digits", setting("scenarios.az-failure.detection", "< \u0663\u0660s"),
         "scenarios.az-failure.detection"),
    Case("objectives", "unknown scenario", lambda d: d["scenarios"].update({"az-failur": {}}) or d, "scenarios.az-failur"),
    Case("objectives", "unknown component", lambda d: d["components"].update({"cdn": {}}) or d, "components.cdn"),
    Case("objectives", "no scenarios at all", setting("scenarios", {}), "scenarios"),
    Case("objectives", "unknown recovery mode", setting("scenarios.az-failure.recovery", "sometimes"),
         "scenarios.az-failure.recovery", "sometimes"),
    Case("objectives", "missing detection", removing("scenarios.az-failure.detection"), "scenarios.az-failure.detection"),
    Case("objectives", "limit that can never be met", setting("scenarios.region-failure.rpo", "< 0"),
         "scenarios.region-failure.rpo", "< 0"),
    Case("objectives", "rate of zero", setting("measurement.availability-rate", "0/s"),
         "measurement.availability-rate", "0/s"),
    Case("objectives", "boolean duration", setting("scenarios.az-failure.detection", True),
         "scenarios.az-failure.detection", "True"),
    Case("objectives", "not UTF-8", raw(b"scenarios: {}\n# caf\xe9\n"), ""),
    Case("objectives", "billion laughs", appending(bomb()), "lol8"),
    Case("objectives", "deep nesting", nested_in("deep"), "deep.k.k"),
    Case("objectives", "top level is a list", raw(b"- scenarios\n"), ""),
]

TARGET = [
    Case("target", "duplicate key turns the self-lockout guard off",
         lambda d: yaml.safe_dump(d, sort_keys=False).replace(
             "safety:\n", "safety:\n  allow_runner_blackhole: false\n  allow_runner_blackhole: true\n").encode(),
         "safety.allow_runner_blackhole"),
    Case("target", "duplicate key in a list item",
         raw_value("endpoints", "[{name: a, url: 'http://127.0.0.1/', name: b}]"), "endpoints[0].name"),
    Case("target", "full-width digits in an account id", setting("aws.allowed_account_ids", ["\uff11" * 12]),
         "aws.allowed_account_ids[0]", "\uff11" * 12),
    Case("target", "account id as a number", setting("aws.allowed_account_ids", [123456789012]),
         "aws.allowed_account_ids[0]", "123456789012"),
    Case("target", "region with a non-ASCII digit", setting("aws.regions.primary", "us-west-\u0662"),
         "aws.regions.primary", "us-west-\u0662"),
    Case("target", "zone the account does not have", setting("aws.availability_zones.us-west-2",
                                                             ["us-west-2a", "us-west-2b", "us-west-2z"]),
         "aws.availability_zones.us-west-2[2]", "us-west-2z", validate_catches=False),
    Case("target", "scenario zone not among the target's", setting("scenarios.az-failure.availability_zone", "us-west-2d"),
         "scenarios.az-failure.availability_zone", "us-west-2d"),
    Case("target", "unknown top-level key", lambda d: d.update(saftey={}) or d, "saftey"),
    Case("target", "unknown kind", setting("kind", "aws2"), "kind", "aws2"),
    Case("target", "no selection tags", setting("aws.selection_tags", {}), "aws.selection_tags"),
    Case("target", "selection tag value not a string", setting("aws.selection_tags", {"env": 5}), "aws.selection_tags.env", "5"),
    Case("target", "nan abort limit", setting("safety.abort", {"limit": float("nan")}), "safety.abort.limit", "nan"),
    Case("target", "abort limit in parsecs", setting("safety.abort", {"limit": "5 parsecs"}), "safety.abort.limit",
         "5 parsecs"),
    Case("target", "abort limit overflowing", setting("safety.abort", {"limit": "9" * 400}), "safety.abort.limit"),
    Case("target", "availability floor above 100%", setting("safety.abort", {"availability_floor": "150%"}),
         "safety.abort.availability_floor", "150%"),
    Case("target", "endpoint not http", setting("endpoints", [{"name": "app", "url": "ftp://x"}]), "endpoints[0].url",
         "ftp://x"),
    Case("target", "dr region same as primary", setting("aws.regions.dr", REGION), "aws.regions.dr", REGION),
    Case("target", "no primary region", removing("aws.regions.primary"), "aws.regions.primary"),
    Case("target", "runner subnet not a subnet id", setting("safety.runner.subnet_ids", ["sg-0123"]),
         "safety.runner.subnet_ids[0]", "sg-0123"),
    Case("target", "allow_runner_blackhole as a string", setting("safety.allow_runner_blackhole", "yes please"),
         "safety.allow_runner_blackhole", "yes please"),
    Case("target", "scenario not described", setting("scenarios", {}), "scenarios.az-failure", validate_catches=False),
    Case("target", "not UTF-8", raw(b"kind: aws\nname: caf\xe9\n"), ""),
    Case("target", "billion laughs", appending(bomb()), "lol8"),
    Case("target", "recursive alias", appending("loop: &loop [*loop]\n"), "loop[0]"),
    Case("target", "deep nesting", nested_in("detection"), "detection.k.k"),
    Case("target", "too large", appending("#" * 1_100_000 + "\n"), ""),
]


def control_plane_func(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return setting("method[0].provider.func", name)


EXPERIMENT = [
    Case("experiment", "rollback strategy left at the default", removing("runtime"), "runtime.rollbacks.strategy"),
    Case("experiment", "no controls", removing("controls"), "controls"),
    Case("experiment", "another control instead of the measurement one",
         setting("controls", [{"name": "x", "provider": {"type": "python", "module": "chaoslib.control"}}]), "controls"),
    Case("experiment", "recovery timeout in parsecs", setting("configuration.zerospof_recovery_timeout", "5 parsecs"),
         "configuration.zerospof_recovery_timeout", "5 parsecs"),
    Case("experiment", "abort floor 2", setting("configuration.zerospof_abort_floor", 2),
         "configuration.zerospof_abort_floor", "2"),
    Case("experiment", "abort floor nan", setting("configuration.zerospof_abort_floor", float("nan")),
         "configuration.zerospof_abort_floor", "nan"),
    Case("experiment", "negative ready timeout", setting("configuration.zerospof_ready_timeout", "-5s"),
         "configuration.zerospof_ready_timeout", "-5s"),
    Case("experiment", "settle nan", setting("configuration.zerospof_settle", float("nan")),
         "configuration.zerospof_settle", "nan"),
    Case("experiment", "baseline 1.0e+400", setting("configuration.zerospof_baseline", float("inf")),
         "configuration.zerospof_baseline", "inf"),
    Case("experiment", "empty method", setting("method", []), "method", "[]"),
    Case("experiment", "misspelt func", control_plane_func("inject_faultt"), "method[0].provider.func", "inject_faultt"),
    Case("experiment", "misspelt module", setting("method[0].provider.module", "probes.scenarios"),
         "method[0].provider.module", "probes.scenarios"),
    Case("experiment", "misspelt argument", setting("method[1].provider.arguments", {"sustained": 5}),
         "method[1].provider.arguments", "sustained"),
    Case("experiment", "misspelt steady-state func", setting("steady-state-hypothesis.probes[0].provider.func",
                                                             "app_is_servd"),
         "steady-state-hypothesis.probes[0].provider.func", "app_is_servd"),
    Case("experiment", "misspelt rollback func", setting("rollbacks[0].provider.func", "revert_fault"),
         "rollbacks[0].provider.func", "revert_fault"),
    Case("experiment", "unknown zerospof key", setting("configuration.zerospof_recovery_timout", "1min"),
         "configuration.zerospof_recovery_timout", "1min"),
    Case("experiment", "unknown scenario", setting("configuration.zerospof_scenario", "az-failur"),
         "configuration.zerospof_scenario", "az-failur"),
    Case("experiment", "fault options not a mapping", setting("configuration.zerospof_fault_options", [1]),
         "configuration.zerospof_fault_options", "[1]"),
    Case("experiment", "run id escaping its directory", setting("configuration.zerospof_run_id", "../../etc"),
         "configuration.zerospof_run_id", "../../etc"),
    Case("experiment", "duplicate zerospof key", lambda d: yaml.safe_dump(d, sort_keys=False).replace(
        "configuration:\n", "configuration:\n  zerospof_abort_floor: 0.9\n  zerospof_abort_floor: 0.0\n").encode(),
         "configuration.zerospof_abort_floor"),
    Case("experiment", "billion laughs in the configuration", lambda d: yaml.safe_dump(d, sort_keys=False).replace(
        "configuration:\n", "configuration:\n" + "".join("  " + line + "\n" for line in bomb().splitlines())).encode(),
         "configuration.lol8"),
    Case("experiment", "not UTF-8", raw(b"title: caf\xe9\nmethod: []\n"), ""),
]

CASES = OBJECTIVES + TARGET + EXPERIMENT


def valid_documents() -> dict[str, dict[str, Any]]:
    target = target_document()
    target.pop("kubernetes")  # no cluster: the AZ failure is a NACL blackhole only
    return {
        "objectives": yaml.safe_load((REPO / "objectives.yaml").read_text()),
        "target": target,
        "experiment": yaml.safe_load((REPO / "experiments" / "aws" / f"{SCENARIO}.yaml").read_text()),
    }


def write_files(tmp_path: Path, case: Case | None) -> dict[str, Path]:
    paths = {}
    for kind, document in valid_documents().items():
        content = case.mutate(copy.deepcopy(document)) if case is not None and case.kind == kind else document
        if isinstance(content, dict | list):
            content = yaml.safe_dump(content, sort_keys=False, allow_unicode=True).encode()
        paths[kind] = tmp_path / f"{kind}.yaml"
        paths[kind].write_bytes(content)
    return paths


def test_the_table_has_sixty_cases_or_more_across_the_three_file_kinds():
    assert len(CASES) >= 60 and {case.kind for case in CASES} == {"objectives", "target", "experiment"}
    assert len({(case.kind, case.name) for case in CASES}) == len(CASES)


def test_the_valid_files_pass_every_path(recorded_actions, tmp_path, monkeypatch, capsys):
    """The baseline: without a mutation each file validates and the dry run plans the blackhole (so each case
    below fails for its own reason), and moto's recorder sees the dry run's reads (so it would see a change)."""
    paths = write_files(tmp_path, None)
    monkeypatch.setattr(run_module, "experiment_path", lambda kind, scenario: paths["experiment"])
    assert main(["validate", *map(str, paths.values())]) == 0
    assert main(["run", SCENARIO, "--target", str(paths["target"]), "--objectives", str(paths["objectives"]),
                 "--dry-run"]) == 0
    assert "ReplaceNetworkAclAssociation" in capsys.readouterr().out
    assert {"GetCallerIdentity", "DescribeAvailabilityZones", "DescribeSubnets"} <= set(recorded_actions())
    assert changes(recorded_actions()) == []
    ec2 = boto3.client("ec2", region_name=REGION)
    acl = ec2.create_network_acl(VpcId=ec2.describe_vpcs()["Vpcs"][-1]["VpcId"])["NetworkAcl"]["NetworkAclId"]
    ec2.delete_network_acl(NetworkAclId=acl)  # the world is shared by the table: leave it as found
    assert changes(recorded_actions()) == ["CreateNetworkAcl", "DeleteNetworkAcl"]  # a change would show


@pytest.fixture(scope="module")
def shared_staging():
    """One moto world for the whole table: no case may change it (each asserts so), which keeps the table fast."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        yield make_staging_vpc(ec2)


@pytest.fixture
def moto_state(shared_staging):
    ec2 = boto3.client("ec2", region_name=REGION)
    return lambda: (associations(ec2), acl_ids(ec2))


@pytest.fixture
def recorded_actions(shared_staging, tmp_path, monkeypatch):
    """moto's own request recorder, from now on: returns the AWS API actions moto received (query protocol)."""
    monkeypatch.chdir(tmp_path)  # the recorder writes ./moto_recording
    recorder.reset_recording()
    recorder.start_recording()

    def actions() -> list[str]:
        found = []
        for line in recorder.download_recording().splitlines():
            entry = json.loads(line)
            body = base64.b64decode(entry["body"]).decode() if entry["body_encoded"] else entry["body"] or ""
            found += parse_qs(body).get("Action", [])
        return found

    yield actions
    recorder.stop_recording()


def changes(actions: list[str]) -> list[str]:
    """The actions that change something (anything but Describe*, Get*, List*)."""
    return [action for action in actions if not action.startswith(("Describe", "Get", "List"))]


@pytest.mark.parametrize("command", ["validate", "run --dry-run", "run"])
@pytest.mark.parametrize("case", CASES, ids=[f"{case.kind}: {case.name}" for case in CASES])
def test_a_malformed_file_exits_2_naming_file_key_and_value_and_nothing_is_injected(
        moto_state, recorded_actions, tmp_path, monkeypatch, capsys, case, command):
    paths = write_files(tmp_path, case)
    monkeypatch.setattr(run_module, "experiment_path", lambda kind, scenario: paths["experiment"])
    before = moto_state()
    if command == "validate":
        argv = ["validate", str(paths[case.kind])]
    else:
        argv = ["run", SCENARIO, "--target", str(paths["target"]), "--objectives", str(paths["objectives"]),
                "--reports", str(tmp_path / "reports"), *(["--dry-run"] if command == "run --dry-run" else [])]

    status = main(argv)

    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if command == "validate" and not case.validate_catches:
        assert status == 0, err  # only the account can tell: `run` refuses it (below)
        return
    assert status == 2, (out, err)
    assert f"{paths[case.kind]}: {case.key}" in err or (not case.key and f"{paths[case.kind]}: <top level>" in err), err
    if case.value is not None:
        assert case.value in err, err
    assert moto_state() == before
    assert changes(recorded_actions()) == []  # moto received no call that changes anything
    ledger = Path(tmp_path / "ledger")  # $ZEROSPOF_LEDGER_DIR of this test
    assert not ledger.exists() or list(ledger.iterdir()) == []
    assert "DRY-RUN" not in out
