"""`zerospof spof --target FILE` on moto + the tests' real Kubernetes API server: members, faults, the static audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import boto3
import pytest

from tests.aws.moto_world import REGION, moto_decrypts_multi_region_keys, write_target
from tests.aws.spof_world import DR, FLAWS, LABELS, build_aws, build_cluster, second_dns_provider, web_pods, world_document
from tests.k8s.cluster import TestCluster
from tests.k8s.control_plane import CONTEXT
from tests.k8s.world import pod
from zerospof.aws.sweep import AwsSpofPlan
from zerospof.aws.target import load_aws_target
from zerospof.cli import main
from zerospof.faults import Ledger
from zerospof.objectives import load_objectives
from zerospof.spof import Outcome, sweep

REPO = Path(__file__).resolve().parents[2]
LAYERS = ("network", "compute", "control", "data", "dns", "cicd", "gitops", "security")


def _world(tmp_path: Path, cluster: TestCluster, kubeconfig: str, flaws: set[str] = frozenset(),
           secondary: tuple[str, int] | None = None, **overrides: Any) -> Path:
    build_cluster(cluster, set(flaws))
    ids = build_aws(set(flaws))
    return write_target(tmp_path, world_document(kubeconfig, ids, None if "no-secondary-dns" in flaws else secondary,
                                                 **overrides))


@pytest.fixture
def world(aws: None, cluster, kubeconfig, tmp_path):
    """Build the world (minus the flaws asked for) and return its target file's path."""
    def build(flaws: set[str] = frozenset(), secondary: tuple[str, int] | None = None, **overrides: Any) -> Path:
        return _world(tmp_path, cluster, kubeconfig, flaws, secondary, **overrides)
    return build


def _names(plan: AwsSpofPlan) -> dict[str, Any]:
    return {p.member.name: p for p in plan.planned()}


def test_every_member_of_the_aws_world_is_listed_by_layer_with_its_fault_or_why_not(world, cluster):
    with second_dns_provider() as secondary:
        path = world(secondary=secondary)
    pods = web_pods(cluster)  # named by the Deployment's ReplicaSet, placed by the scheduler
    assert sorted(pods.values()) == ["us-west-2a", "us-west-2b"]
    target = load_aws_target(path)
    plan = AwsSpofPlan(target)
    planned = _names(plan)
    key_id = target.inventory.kms_keys[0]
    exercised = {name: p.fault.kind for name, p in planned.items() if p.fault is not None}
    assert exercised == {
        "az:us-west-2a": "nacl-blackhole", "az:us-west-2b": "nacl-blackhole", "az:us-west-2c": "nacl-blackhole",
        "lb:app:us-west-2a": "nacl-blackhole", "lb:app:us-west-2b": "nacl-blackhole",
        "nodes:primary:us-west-2a": "zone-drain", "nodes:primary:us-west-2b": "zone-drain",
        **{f"pod:app/{name}": "pod-kill" for name in pods},
        f"kms:{key_id}@{REGION}": "kms-key-disable", f"kms:{key_id}@{DR}": "kms-key-disable",
        "dns:app.example.com:primary": "health-check-invert",
    }
    not_exercised = {name for name, p in planned.items() if p.fault is None}
    assert not_exercised == {"db:orders/orders-0", "db:orders/orders-1", "dns-provider:route53",
                             "dns-provider:cloudflare", "dns:app.example.com:secondary",
                             f"secret:app/db@{REGION}", f"secret:app/db@{DR}"}
    assert all(planned[name].member.not_exercised for name in not_exercised)
    assert planned["lb:app:us-west-2b"].fault.params["subnet_ids"] == [planned["lb:app:us-west-2b"].fault.params[
        "subnet_ids"][0]] and planned["lb:app:us-west-2b"].fault.params["availability_zones"] == ["us-west-2b"]
    assert {name: planned[f"pod:app/{name}"].member.place for name in pods} == pods
    layers = [p.member.layer for p in plan.planned()]
    assert layers == sorted(layers, key=LAYERS.index)


def test_the_well_built_world_has_no_static_audit_finding(world):
    with second_dns_provider() as secondary:
        audit = AwsSpofPlan(load_aws_target(world(secondary=secondary))).audit()
    assert audit.findings == []
    assert audit.not_audited == {}
    assert len(audit.checked) == len(set(FLAWS.values()))


@pytest.mark.parametrize("flaw", sorted(FLAWS))
def test_the_static_audit_finds_each_flaw_alone(world, flaw):
    with second_dns_provider(answers=flaw != "secondary-dns-silent") as secondary:
        audit = AwsSpofPlan(load_aws_target(world({flaw}, secondary=secondary))).audit()
    assert {f.check for f in audit.findings} == {FLAWS[flaw]}, audit.findings


def test_the_one_zone_audit_ignores_a_terminating_pod_in_another_zone(world, cluster):
    with second_dns_provider() as secondary:
        target = world({"one-zone"}, secondary=secondary)
        cluster.kubelet.paused.set()  # nothing finishes the deletion: the leftover pod stays terminating
        cluster.add(pod("web-leftover", "app", "node-b", dict(LABELS)))
        cluster.api("pods").delete(name="web-leftover", namespace="app", body={"gracePeriodSeconds": 300})
        assert cluster.get("pods", "app", "web-leftover")["metadata"]["deletionTimestamp"]
        audit = AwsSpofPlan(load_aws_target(target)).audit()
    (finding,) = audit.findings
    assert finding.check == "one-zone" and "all 2 serving pods" in finding.message, finding


def test_dry_run_lists_members_and_faults_runs_the_audit_and_exits_1_on_a_finding(world, cluster, tmp_path, capsys):
    with second_dns_provider() as secondary:
        path = world({"no-pdb"}, secondary=secondary)
        pod = min(web_pods(cluster))
        code = main(["spof", "--target", str(path), "--dry-run", "--reports", str(tmp_path / "reports"),
                     "--objectives", str(REPO / "objectives.yaml")])
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert code == 1
    members = {line["member"]: line for line in lines if "member" in line}
    assert members[f"pod:app/{pod}"]["fault"].startswith(f"pod-kill(app/app=web named {pod}")
    assert members["db:orders/orders-0"]["not_exercised"].startswith("zerospof has no revertible")
    drained = [(c["service"], c["operation"]) for c in members["nodes:primary:us-west-2a"]["calls"]]
    assert (f"kubernetes/{CONTEXT}", "patch_node") in drained  # every change it would make, recorded, not made
    assert {c["operation"] for c in members["az:us-west-2a"]["calls"]} >= {"CreateNetworkAcl",
                                                                          "ReplaceNetworkAclAssociation"}
    [finding] = [line["finding"] for line in lines if "finding" in line]
    assert finding["check"] == "disruption-budget" and finding["layer"] == "compute"
    [report] = list((tmp_path / "reports").glob("*-spof"))
    document = json.loads((report / "spof.json").read_text())
    assert document["dry_run"] is True and document["members"] == []
    assert document["audit"]["findings"] == [finding]
    junit = ElementTree.parse(report / "junit.xml").getroot()
    failed = [case.get("name") for case in junit if case.find("failure") is not None]
    assert failed == ["disruption-budget: deployment app/web"]
    assert "disruption-budget" in (report / "summary.md").read_text()
    assert "SPOF FOUND" in (report / "index.html").read_text()


def test_dry_run_of_the_well_built_world_exits_0_and_changes_nothing(world, tmp_path, capsys):
    with second_dns_provider() as secondary:
        path = world(secondary=secondary)
        acls_before = boto3.client("ec2", region_name=REGION).describe_network_acls()["NetworkAcls"]
        code = main(["spof", "--target", str(path), "--dry-run", "--reports", str(tmp_path / "reports"),
                     "--objectives", str(REPO / "objectives.yaml")])
    assert code == 0, capsys.readouterr()
    assert boto3.client("ec2", region_name=REGION).describe_network_acls()["NetworkAcls"] == acls_before


def test_an_unknown_member_is_bad_input_naming_the_known_ones(world, tmp_path, capsys):
    with second_dns_provider() as secondary:
        path = world(secondary=secondary)
        code = main(["spof", "--target", str(path), "--dry-run", "--member", "nope", "--reports", str(tmp_path)])
    assert code == 2
    assert "--member" in capsys.readouterr().err


def test_a_swept_kms_replica_is_disabled_alone_judged_and_enabled_again(world, tmp_path, endpoint, monkeypatch):
    moto_decrypts_multi_region_keys(monkeypatch)
    with second_dns_provider() as secondary:
        path = world(secondary=secondary, endpoints=[{"name": "app", "url": endpoint.url}])
    target = load_aws_target(path)
    key_id = target.inventory.kms_keys[0]
    member = f"kms:{key_id}@{DR}"
    plan = AwsSpofPlan(target, ready_timeout_s=10)
    seen: list[str] = []
    monkeypatch.setattr("zerospof.aws.kms_disable.KmsKeyDisable.verify", _recording_verify(seen))
    results, _ = sweep(plan.sweep_target(), load_objectives(REPO / "objectives.yaml"), Ledger(tmp_path / "ledger"),
                       "run-1", names=[member, "db:orders/orders-0"], max_hold_s=1.0, say=lambda _: None)
    by_name = {r.member.name: r for r in results}
    assert seen == ["Disabled"]  # failed while held ...
    assert boto3.client("kms", region_name=DR).describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert boto3.client("kms", region_name=REGION).describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert by_name[member].outcome is Outcome.REDUNDANT  # ... and users (the endpoint) never noticed
    assert by_name["db:orders/orders-0"].outcome is Outcome.NOT_EXERCISED
    assert Ledger(tmp_path / "ledger").open_records() == []


def _recording_verify(seen: list[str]) -> Any:
    from zerospof.aws.kms_disable import KmsKeyDisable

    original = KmsKeyDisable.verify

    def verify(self: KmsKeyDisable) -> None:
        original(self)
        seen.append(self._state())
    return verify


def test_a_sweep_run_writes_members_and_findings_and_a_layer_with_nothing_exercised_is_not_validated(
        world, cluster, tmp_path, endpoint, capsys):
    with second_dns_provider() as secondary:
        path = world({"no-pdb"}, secondary=secondary, endpoints=[{"name": "app", "url": endpoint.url}])
        pods = web_pods(cluster)
        pod = min(pods)
        code = main(["spof", "--target", str(path), "--member", f"pod:app/{pod}", "--member", "db:orders/orders-0",
                     "--max-hold", "1s", "--reports", str(tmp_path / "reports"),
                     "--objectives", str(REPO / "objectives.yaml")])
    out = capsys.readouterr().out
    assert code == 1
    assert "NOT VALIDATED: layer data" in out and "RISK [compute] disruption-budget: deployment app/web" in out
    [report] = list((tmp_path / "reports").glob("*-spof"))
    document = json.loads((report / "spof.json").read_text())
    outcomes = {m["member"]["name"]: m["outcome"] for m in document["members"]}
    assert outcomes == {f"pod:app/{pod}": "redundant", "db:orders/orders-0": "not-exercised"}
    cluster.wait_ready("deployments", "app", "web")
    after = web_pods(cluster)
    assert pod not in after and sorted(after.values()) == sorted(pods.values())  # killed; its controller replaced it
    assert document["not_validated"] == ["data"] and document["target"] == "moto-staging"
    assert [f["check"] for f in document["audit"]["findings"]] == ["disruption-budget"]
    cases = {case.get("name"): case for case in ElementTree.parse(report / "junit.xml").getroot()}
    assert cases["db:orders/orders-0 is not a single point of failure"].find("skipped") is not None
    assert cases[f"pod:app/{pod} is not a single point of failure"].find("failure") is None
    assert cases["disruption-budget: deployment app/web"].find("failure") is not None
    assert cases["replicas: no finding"].find("failure") is None
    summary = (report / "summary.md").read_text()
    assert "not-exercised" in summary and "disruption-budget" in summary


def test_the_sweep_heals_only_once_every_declared_deployment_is_back_at_full_strength(world, cluster):
    plan = AwsSpofPlan(load_aws_target(world()))
    assert plan.workloads_full()  # the world's app/web: 2 of 2 ready
    # a rollout that cannot finish (its new pods fit no node): the next member must not start meanwhile
    cluster.patch("deployments", "app", "web",
                  {"spec": {"template": {"spec": {"nodeSelector": {"zerospof/nowhere": "true"}}}}})
    assert not plan.workloads_full()
