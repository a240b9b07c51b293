"""AWS detection probes and the DR action against moto: ALB targets, CloudWatch alarm transitions, Aurora failover."""

from __future__ import annotations

import time

import boto3

from tests.aws.moto_world import REGION, make_aurora_cluster
from zerospof.aws.clients import AwsClients
from zerospof.aws.dr_actions import aurora_writer, failover_aurora
from zerospof.aws.probes import alb_target_health, cloudwatch_alarm


def test_cloudwatch_alarm_is_detected_only_for_an_alarm_entered_after_t0(aws):
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_alarm(AlarmName="app-5xx", MetricName="5xx", Namespace="app", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    clients = AwsClients()
    t0 = time.time() - 1
    assert cloudwatch_alarm(clients, REGION, "app-5xx", t0)["detected"] is False
    cloudwatch.set_alarm_state(AlarmName="app-5xx", StateValue="ALARM", StateReason="test")
    seen = cloudwatch_alarm(clients, REGION, "app-5xx", t0)
    assert seen["state"] == "ALARM" and seen["detected"] is True
    assert cloudwatch_alarm(clients, REGION, "app-5xx", time.time() + 60)["detected"] is False  # alarm predates t0
    assert cloudwatch_alarm(clients, REGION, "missing", t0) == {"state": None, "alarm_since_wall": None, "detected": False}


def test_alb_target_health_counts_registered_targets(aws):
    ec2 = boto3.client("ec2", region_name=REGION)
    elbv2 = boto3.client("elbv2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    group = elbv2.create_target_group(Name="app", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    arn = group["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "10.50.1.10", "Port": 80}])
    report = alb_target_health(AwsClients(), REGION, arn)
    assert report["healthy"] + len(report["unhealthy"]) == 1
    assert report["detected"] == bool(report["unhealthy"])


def test_aurora_failover_moves_the_writer(aws):
    rds = boto3.client("rds", region_name="us-east-1")
    make_aurora_cluster(rds, "dr", ("dr-1", "dr-2"))
    clients = AwsClients()
    before = aurora_writer(clients, "us-east-1", "dr")
    other = "dr-2" if before == "dr-1" else "dr-1"
    result = failover_aurora(clients, "us-east-1", "dr", other)
    assert result["writer_before"] == before and result["writer_after"] == other
    assert aurora_writer(clients, "us-east-1", "dr") == other
