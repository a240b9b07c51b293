"""``experiments/aws/az-failure.yaml`` run through chaoslib, as ``chaos run`` would, against moto and a local endpoint.

What moto cannot do decides what this test may claim: a NACL swap in moto cuts no traffic, and
moto reports a registered IP target ``healthy`` whatever happens to its subnet, so the ALB
target-health signal never reports the AZ loss. The honest outcome is therefore a measured run
(t0, downtime, RTO, the signal sampled throughout) whose verdict fails with detection *not
measured*, never 0; the fault is in effect during the method and reverted afterwards.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from tests.aws.moto_alarm_history import serve_alarm_history
from tests.aws.moto_world import REGION, ZONES, associations, target_document, write_target
from zerospof.chaos.runner import run_experiment_file
from zerospof.component_logs import COLLECTED_FILE, read_collected
from zerospof.faults import Ledger

REPO = Path(__file__).resolve().parents[2]
ALB_SIGNAL = "signal:alb-target-health"


def alb_target_group(ec2, vpc_id: str, subnet_id: str) -> str:
    """A target group with one IP target in the lost AZ (what moto can register and report)."""
    elbv2 = boto3.client("elbv2", region_name=REGION)
    cidr = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["CidrBlock"]
    group = elbv2.create_target_group(Name="app", Protocol="HTTP", Port=80, VpcId=vpc_id,
                                      TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": cidr.replace("0/24", "10"), "Port": 80}])
    return group


def test_az_failure_experiment_is_measured_and_fails_on_detection_not_measured_rather_than_zero(staging, endpoint, tmp_path,
                                                                                                monkeypatch):
    ec2 = boto3.client("ec2", region_name=REGION)
    group = alb_target_group(ec2, staging["vpc_id"], staging["tagged"][ZONES[0]][0])
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName="app-5xx", MetricName="5xx", Namespace="app", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanThreshold")
    serve_alarm_history(monkeypatch)  # moto records alarm history but does not serve it (see that module)
    document = target_document(endpoints=[{"name": "app", "url": endpoint.url}],
                               detection={"alb_target_groups": [{"region": REGION, "arn": group}],
                                          "cloudwatch_alarms": [{"region": REGION, "name": "app-5xx"}]})
    document.pop("kubernetes")  # this target has no cluster: no node readiness to read
    before = associations(ec2)
    ledger_dir = tmp_path / "ledger"

    result = run_experiment_file(REPO / "experiments" / "aws" / "az-failure.yaml", {
        "zerospof_target": str(write_target(tmp_path, document)),
        "zerospof_objectives": str(REPO / "objectives.yaml"),
        "zerospof_ledger_dir": str(ledger_dir),
        "zerospof_run_dir": str(tmp_path / "run"),
        "zerospof_recovery_timeout": "1500ms",  # the ALB never reports the AZ in moto: do not wait for it long
        "zerospof_baseline": "500ms",
        "zerospof_settle": "500ms",
    })

    report, timeline = result.report, result.timeline()
    conditions = {c["name"]: c["passed"] for c in report["conditions"]}
    assert conditions["steady-state-before"] and conditions["fault-in-effect"] and conditions["method-succeeded"]
    assert conditions["rollbacks-succeeded"] and conditions["fault-reverted"]
    assert timeline.t0() is not None

    alb = timeline.samples_of(ALB_SIGNAL)
    assert report["signal_probes"] == [ALB_SIGNAL]
    assert alb and all(s.ok for s in alb) and not any(s.value["detected"] for s in alb)  # moto never flips it
    assert any(s.t_mono > timeline.t0() for s in alb)  # it was sampled while the fault was in effect
    detection = report["measurements"]["detection_s"]
    assert detection["value"] is None and detection["detail"]["reason"] == "fault not detected"
    [check] = [c for c in report["checks"] if c["measurement"] == "detection_s"]
    assert check["passed"] is False and check["measured"] is None and "not measured" in check["message"]
    assert report["passed"] is False and result.journal["status"] == "failed"
    probes = {r["activity"]["name"]: r for r in result.journal["run"] if r["activity"]["type"] == "probe"}
    assert probes["objective detection_s"]["output"]["passed"] is False  # what `chaos report` shows
    assert probes["objective reads.downtime_s"]["output"]["measured"] == 0.0
    assert result.journal["deviated"] is True

    users = timeline.samples_of("availability")
    assert len(users) >= 30 and all(s.ok for s in users) and endpoint.hits >= len(users)
    assert report["measurements"]["downtime_s"]["value"] == 0.0  # the local endpoint never failed
    assert (result.run_dir / "journal.json").exists() and result.journal["zerospof"] == report

    assert associations(ec2) == before
    assert Ledger(ledger_dir).open_records() == []
    collected = read_collected(result.run_dir / COLLECTED_FILE)  # read by the run, after the fault
    assert [(s.component, s.error) for s in collected.sources] == [(f"cloudwatch-alarm {REGION}/app-5xx", None)]
    assert collected.start_wall < report["t0_wall"] < collected.end_wall


def test_a_scenario_whose_detection_signals_the_target_file_does_not_name_is_interrupted_before_any_fault(
        staging, endpoint, tmp_path):
    ec2 = boto3.client("ec2", region_name=REGION)
    document = target_document(endpoints=[{"name": "app", "url": endpoint.url}])  # no detection.alb_target_groups
    document.pop("kubernetes")
    before = associations(ec2)

    result = run_experiment_file(REPO / "experiments" / "aws" / "az-failure.yaml", {
        "zerospof_target": str(write_target(tmp_path, document)),
        "zerospof_objectives": str(REPO / "objectives.yaml"),
        "zerospof_ledger_dir": str(tmp_path / "ledger"),
        "zerospof_run_dir": str(tmp_path / "run"),
    })

    assert result.journal["status"] == "interrupted" and result.passed is False
    assert result.journal["run"] == []  # the method never ran
    assert associations(ec2) == before
    assert Ledger(tmp_path / "ledger").records() == []


def test_the_users_chaos_toolkit_settings_and_global_controls_apply(staging, endpoint, tmp_path, monkeypatch):
    control = tmp_path / "recording_control.py"
    control.write_text("import json, os\n"
                       "def after_experiment_control(context, state, **kwargs):\n"
                       "    open(os.environ['RECORDED'], 'a').write(json.dumps(state['status']) + '\\n')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = tmp_path / "settings.yaml"
    settings.write_text("controls:\n  recorder:\n    provider:\n      type: python\n      module: recording_control\n"
                        "runtime:\n  rollbacks:\n    strategy: never\n")  # zerospof keeps 'always' regardless
    monkeypatch.setenv("ZEROSPOF_CHAOS_SETTINGS", str(settings))
    monkeypatch.setenv("RECORDED", str(tmp_path / "recorded"))
    document = target_document(endpoints=[{"name": "app", "url": endpoint.url}])  # no detection: interrupted at once
    document.pop("kubernetes")

    result = run_experiment_file(REPO / "experiments" / "aws" / "az-failure.yaml", {
        "zerospof_target": str(write_target(tmp_path, document)), "zerospof_ledger_dir": str(tmp_path / "ledger"),
        "zerospof_run_dir": str(tmp_path / "run"),
    })

    assert (tmp_path / "recorded").read_text().splitlines() == ['"interrupted"']  # the global control ran
    assert [r["activity"]["name"] for r in result.journal["rollbacks"]] == ["revert-faults", "wait-until-healthy"]


def test_an_experiment_naming_another_fault_than_the_target_would_inject_changes_nothing(staging, tmp_path):
    from chaoslib.exceptions import ActivityFailed

    from zerospof.chaos.actions import inject_fault

    ec2 = boto3.client("ec2", region_name=REGION)
    before = associations(ec2)
    configuration = {"zerospof_scenario": "az-failure", "zerospof_target": str(write_target(tmp_path, target_document())),
                     "zerospof_ledger_dir": str(tmp_path / "ledger")}
    with pytest.raises(ActivityFailed, match="names fault .az-loss., but .* would inject nacl-blackhole"):
        inject_fault(configuration, fault="az-loss")
    assert associations(ec2) == before and Ledger(tmp_path / "ledger").records() == []
