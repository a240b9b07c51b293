"""``AwsDriver``: readiness, the scenario's fault as one composite, the monitors, the canaries' contracts.

AWS is moto (in-process, or a server on 127.0.0.1 when a child process is SIGKILLed), Kubernetes
is a real API server (``tests/k8s/fixtures.py``), and the user-facing endpoint is a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import boto3
import pytest
from chaoslib.exceptions import ActivityFailed

from tests.aws.moto_world import (
    REGION, ZONES, associations, make_aurora_cluster, make_staging_vpc, target_document, write_target,
)
from tests.helpers import sigkill_when_ready
from tests.k8s.control_plane import CONTEXT
from tests.k8s.world import CHAOS_LABEL, build_cluster, lease, set_lease_holder
from zerospof.aws.chaos import run_dr_action
from zerospof.aws.clients import AwsClients
from zerospof.aws.dr_actions import aurora_writer
from zerospof.aws.driver import AwsDriver
from zerospof.aws.nacl_blackhole import NaclBlackhole
from zerospof.aws.target import load_aws_target
from zerospof.errors import ConfigError, SafetyRefusal, TargetError
from zerospof.faults import Ledger, apply, injected
from zerospof.faults.composite import AllOf
from zerospof.k8s.zone_drain import ZoneDrain
from zerospof.objectives import load_objectives
from zerospof.scenario import OBSERVER
from zerospof.timeline import Timeline

REPO = Path(__file__).resolve().parents[2]


def cordoned(cluster) -> set[str]:
    return {n["metadata"]["name"] for n in cluster.objects("nodes") if n["spec"].get("unschedulable")}


def eks_document(kubeconfig_path, endpoint_url=None):  # noqa: F811
    """A target document with one cluster on the real API server and an AZ failure that also drains the zone."""
    document = target_document()
    if endpoint_url:
        document["aws"]["endpoint_url"] = endpoint_url
    document["kubernetes"] = {"allowed_contexts": [CONTEXT], "clusters": [
        {"name": "primary", "context": CONTEXT, "region": REGION, "kubeconfig": kubeconfig_path,
         "node_label_selector": CHAOS_LABEL}]}
    document["scenarios"]["az-failure"] = {"availability_zone": ZONES[0], "drain_nodes": True, "drain_cluster": "primary"}
    return document


def test_an_az_failure_with_a_drain_is_one_composite_that_injects_both_and_reverts_both(
        staging, cluster, kubeconfig, tmp_path):  # noqa: F811
    ec2 = boto3.client("ec2", region_name=REGION)
    build_cluster(cluster)
    before = associations(ec2)
    fault = AwsDriver(load_aws_target(write_target(tmp_path, eks_document(kubeconfig)))).fault("az-failure", {})
    assert isinstance(fault, AllOf)
    assert [type(child) for child in fault.children] == [NaclBlackhole, ZoneDrain]

    with injected(fault, ledger=Ledger(tmp_path / "ledger")) as record:
        cut = {s for s, acl in associations(ec2).items() if acl != before[s]}
        assert cut == set(staging["tagged"][ZONES[0]])
        assert cordoned(cluster) == {"node-a0", "node-a1"}
        assert record.data["undo"]["children"][0]["subnets"]  # the NACL's original state is in the record

    assert associations(ec2) == before
    assert cordoned(cluster) == set()
    assert Ledger(tmp_path / "ledger").open_records() == []


CHILD = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from zerospof.aws.driver import AwsDriver
    from zerospof.aws.target import load_aws_target
    from zerospof.faults import Ledger, apply, injected
    from zerospof.k8s.zone_drain import ZoneDrain

    target_path, ledger_dir, ready = sys.argv[1], sys.argv[2], Path(sys.argv[3])

    def stall_before_evicting(self, node_name):
        ready.write_text("nodes cordoned, subnets cut")
        time.sleep(120)

    ZoneDrain._evict_pods_of = stall_before_evicting
    fault = AwsDriver(load_aws_target(target_path)).fault("az-failure", {})
    with injected(fault, ledger=Ledger(ledger_dir), run_id="killed-run"):
        time.sleep(120)
''')


def test_the_composite_reverts_from_its_ledger_record_alone_after_a_sigkill_mid_injection(
        moto_server, cluster, kubeconfig, tmp_path):  # noqa: F811
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto_server)
    world = make_staging_vpc(ec2)
    build_cluster(cluster)
    before = associations(ec2)
    ledger_dir, ready, script = tmp_path / "ledger", tmp_path / "ready", tmp_path / "inject_and_stall.py"
    script.write_text(CHILD)
    target_path = write_target(tmp_path, eks_document(kubeconfig, moto_server))
    sigkill_when_ready([sys.executable, str(script), str(target_path), str(ledger_dir), str(ready)], ready)

    assert {s for s, acl in associations(ec2).items() if acl != before[s]} == set(world["tagged"][ZONES[0]])
    assert cordoned(cluster) == {"node-a0", "node-a1"}
    [record] = Ledger(ledger_dir).open_records()
    assert record.data["state"] == "injecting" and record.data["fault"] == "zerospof.faults.composite:AllOf"

    reports = Ledger(ledger_dir).revert_open("killed-run")  # what `zerospof revert` does: the record alone

    assert [report.reverted for report in reports] == [True]
    assert associations(ec2) == before
    assert cordoned(cluster) == set()
    assert Ledger(ledger_dir).open_records() == []


EVERY_SIGNAL = {  # every signal a scenario reads, each resource once
    "endpoints": [{"name": "app", "url": "http://127.0.0.1:9/healthz"}],
    "data_canary": {"postgres": {"dsn_env": "ZEROSPOF_CANARY_DSN"}},
    "detection": {
        "alb_target_groups": [{"region": REGION, "arn": f"arn:aws:elasticloadbalancing:{REGION}:123456789012:targetgroup/app/1"}],
        "route53_health_checks": ["abcdef01-2345-6789-abcd-ef0123456789"],
        "cloudwatch_alarms": [{"region": REGION, "name": "app-5xx"}],
        "leases": [{"cluster": "primary", "namespace": "kube-system", "name": "kube-scheduler"}],
    },
    "gitops": {"controllers": [{"name": "argocd-primary", "cluster": "primary", "engine": "argocd", "namespace": "argocd",
                                "workload": {"kind": "statefulset", "name": "argocd-application-controller"},
                                "lease": {"namespace": "argocd", "name": "argocd-application-controller"}}],
               "applications": [{"cluster": "primary", "name": "platform"}]},
    "scenarios": {"az-failure": {"availability_zone": ZONES[0]}, "region-failure": {"recovery": "automatic"},
                  "control-plane": {"cluster": "primary", "security_group_tags": {"zerospof/role": "eks-control-plane"}},
                  "gitops": {"controller": "argocd-primary"}},
}


def test_monitoring_builds_each_scenarios_samplers_under_the_shared_probe_names(
        aws, cluster, kubeconfig, tmp_path, monkeypatch):  # noqa: F811
    build_cluster(cluster)
    cluster.add(lease("argocd", "argocd-application-controller", "controller-0"))
    monkeypatch.setenv("ZEROSPOF_CANARY_DSN", "postgresql://canary@127.0.0.1:1/never-connected")
    driver = AwsDriver(load_aws_target(write_target(tmp_path, {**eks_document(kubeconfig), **EVERY_SIGNAL})))
    objectives = load_objectives(REPO / "objectives.yaml")

    names = {scenario: [s.name for s in driver.monitoring(scenario, Timeline(), objectives, "run-1").samplers]
             for scenario in ("az-failure", "region-failure", "control-plane", "gitops")}

    assert names == {  # every run also watches the harness itself (its heartbeat)
        "az-failure": ["availability", "signal:alb-target-health", "write-canary", OBSERVER],  # data plane too
        "region-failure": ["availability", "signal:route53-health-check", "signal:cloudwatch-alarm", "write-canary",
                           OBSERVER],
        "control-plane": ["availability", "signal:node-ready", "signal:lease-holder", OBSERVER],
        "gitops": ["availability", "signal:argocd-application", "signal:lease-holder", OBSERVER],
    }
    monitoring = driver.monitoring("gitops", Timeline(), objectives, "run-1")
    assert monitoring.signal_probes == ["signal:argocd-application", "signal:lease-holder"]
    assert (monitoring.abort_floor, monitoring.abort_after_s) == (0.5, 60.0)  # the target file's safety.abort
    users = monitoring.samplers[0]
    assert users.interval_s == pytest.approx(1 / objectives.availability_rate_hz)


def test_recovered_in_any_driver_compares_lease_holders_with_the_baseline_the_runs_monitoring_read(
        aws, endpoint, cluster, kubeconfig, tmp_path):  # noqa: F811
    """Each Chaos Toolkit activity builds its own driver, as ``chaos run`` does: ``recovered`` in a new one,
    given the run's baseline, sees the takeover that happened after the monitoring started; without it, not."""
    build_cluster(cluster)
    cluster.add(lease("argocd", "argocd-application-controller", "controller-0"))
    document = {**eks_document(kubeconfig), "endpoints": [{"name": "app", "url": endpoint.url}],
                "gitops": EVERY_SIGNAL["gitops"], "scenarios": {"gitops": {"controller": "argocd-primary"}}}
    target = load_aws_target(write_target(tmp_path, document))
    monitoring = AwsDriver(target).monitoring("gitops", Timeline(), load_objectives(REPO / "objectives.yaml"), "run-1")
    set_lease_holder(cluster, "argocd", "argocd-application-controller", "controller-1")

    assert AwsDriver(target).recovered("gitops", baseline=monitoring.baseline) is True
    for hook in monitoring.stop_hooks:
        hook()
    assert AwsDriver(target).recovered("gitops") is False  # its own baseline, read now: controller-1, unchanged


def test_the_alb_signal_reports_a_target_the_load_balancer_no_longer_counts_healthy(aws, tmp_path):
    ec2, elbv2 = boto3.client("ec2", region_name=REGION), boto3.client("elbv2", region_name=REGION)
    world = make_staging_vpc(ec2)
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1,
                                 SubnetId=world["tagged"][ZONES[0]][0])["Instances"][0]["InstanceId"]
    group = elbv2.create_target_group(Name="app", Protocol="HTTP", Port=80, VpcId=world["vpc_id"],
                                      TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": instance}])
    document = target_document(detection={"alb_target_groups": [{"region": REGION, "arn": group}]})
    document.pop("kubernetes")
    driver = AwsDriver(load_aws_target(write_target(tmp_path, document)))
    [signal_sampler] = [s for s in driver.monitoring("az-failure", Timeline(), load_objectives(REPO / "objectives.yaml"),
                                                     "r").samplers if s.name.startswith("signal:")]

    assert signal_sampler.probe()["detected"] is False
    ec2.stop_instances(InstanceIds=[instance])  # the one way moto reports a target not healthy
    seen = signal_sampler.probe()
    assert seen["detected"] is True and seen["target_groups"][group]["unhealthy"] == [instance]


def test_check_ready_refuses_an_account_off_the_allow_list_before_reading_anything(staging, tmp_path):
    document = target_document()
    document["aws"]["allowed_account_ids"] = ["999999999999"]
    with pytest.raises(SafetyRefusal, match="not in the target's allowed_account_ids"):
        AwsDriver(load_aws_target(write_target(tmp_path, document))).check_ready()


def test_check_ready_names_an_endpoint_that_does_not_answer_and_a_missing_canary_dsn(aws, endpoint, tmp_path, monkeypatch):
    monkeypatch.delenv("ZEROSPOF_CANARY_DSN", raising=False)
    document = target_document(endpoints=[{"name": "app", "url": endpoint.url}],
                               data_canary={"postgres": {"dsn_env": "ZEROSPOF_CANARY_DSN"}})
    document.pop("kubernetes")
    driver = AwsDriver(load_aws_target(write_target(tmp_path, document)))
    endpoint.status = 503
    with pytest.raises(TargetError) as caught:
        driver.check_ready()
    assert f"endpoint app ({endpoint.url}) does not answer" in str(caught.value)
    assert "ZEROSPOF_CANARY_DSN is not set" in str(caught.value)
    assert driver.healthy() is False and driver.serving() is False
    endpoint.status = 200
    monkeypatch.setenv("ZEROSPOF_CANARY_DSN", "postgresql://unused")
    driver.check_ready()
    assert driver.healthy() is True and driver.serving() is True


def test_what_the_aws_target_cannot_do_fails_loudly(aws, tmp_path):
    document = target_document()
    document.pop("kubernetes")
    driver = AwsDriver(load_aws_target(write_target(tmp_path, document)))
    with pytest.raises(TargetError, match="has no gitops.canary: deployment delay and the delivery RTO cannot be measured"):
        driver.commit_canary("run-1")
    with pytest.raises(TargetError, match="has no data_canary .* and no gitops.canary.rpo_branch .*: RPO cannot be measured"):
        driver.read_back("run-1")
    with pytest.raises(ConfigError, match="zerospof_fault_options"):
        driver.fault("az-failure", {"az": "b"})
    with pytest.raises(ConfigError, match="scenarios.gitops"):
        driver.fault("gitops", {})


def test_the_dr_action_fails_the_database_over_only_while_the_runs_fault_is_in_effect(staging, tmp_path):
    rds = boto3.client("rds", region_name="us-east-1")
    make_aurora_cluster(rds, "dr", ("dr-1", "dr-2"))
    writer = aurora_writer(AwsClients(), "us-east-1", "dr")
    other = "dr-2" if writer == "dr-1" else "dr-1"
    document = target_document()
    document.pop("kubernetes")
    document["scenarios"]["region-failure"] = {"recovery": "manual",
                                               "aurora_failover": {"cluster_id": "dr", "target_instance_id": other}}
    path = write_target(tmp_path, document)
    configuration = {"zerospof_scenario": "region-failure", "zerospof_target": str(path),
                     "zerospof_ledger_dir": str(tmp_path / "ledger"), "zerospof_run_id": "run-dr"}

    with pytest.raises(ActivityFailed, match="no fault of this run is in effect"):
        run_dr_action(configuration)
    assert aurora_writer(AwsClients(), "us-east-1", "dr") == writer

    ledger = Ledger(tmp_path / "ledger")
    apply(AwsDriver(load_aws_target(path)).fault("region-failure", {}), ledger, run_id="run-dr")
    try:
        result = run_dr_action(configuration)
    finally:
        ledger.revert_open("run-dr")
    assert result["dr_action"] == {"cluster_id": "dr", "writer_before": writer, "writer_after": other}
    assert result["zerospof_event"]["kind"] == "note"
    assert aurora_writer(AwsClients(), "us-east-1", "dr") == other
