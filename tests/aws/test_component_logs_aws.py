"""The AWS report's component logs: CloudWatch alarm history read through the boundary, shown with UTC times,
and a source that cannot be read shown as "not read: <reason>", never as an empty list."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import pytest

from tests.aws.moto_alarm_history import serve_alarm_history
from tests.aws.moto_world import REGION, target_document, write_target
from zerospof.aws.driver import AwsDriver
from zerospof.aws.target import load_aws_target
from zerospof.component_logs import COLLECTED_FILE, read_collected, write_collected
from zerospof.html_report import _collected_logs

ALARM = "app-5xx"


def _driver(tmp_path: Path, endpoint_url: str | None = None) -> AwsDriver:
    document = target_document(detection={"cloudwatch_alarms": [{"region": REGION, "name": ALARM}]})
    if endpoint_url is not None:
        document["aws"]["endpoint_url"] = endpoint_url
    document["kubernetes"]["clusters"][0]["kubeconfig"] = str(tmp_path / "no-kubeconfig")
    return AwsDriver(load_aws_target(write_target(tmp_path, document)))


def _alarm_goes_off_and_back(cloudwatch) -> float:
    cloudwatch.put_metric_alarm(AlarmName=ALARM, MetricName="5xx", Namespace="app", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    t0 = time.time()
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="5xx above 1")
    time.sleep(0.05)
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="5xx back to 0")
    return t0


def test_the_alarm_history_around_t0_is_read_with_utc_times(tmp_path: Path, aws: None,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    serve_alarm_history(monkeypatch)  # moto records the history but does not serve it: see that module
    t0 = _alarm_goes_off_and_back(boto3.client("cloudwatch", region_name=REGION))
    collected = _driver(tmp_path).component_logs(t0)
    sources = {source.component: source for source in collected.sources}
    alarm = sources[f"cloudwatch-alarm {REGION}/{ALARM}"]
    assert alarm.error is None
    assert [line.text for line in alarm.lines] == ["StateUpdate: Alarm updated from OK to ALARM",
                                                   "StateUpdate: Alarm updated from ALARM to OK"]
    assert all(t0 - 1 <= line.t_wall <= time.time() for line in alarm.lines)
    assert collected.start_wall < t0 < collected.end_wall
    write_collected(tmp_path / COLLECTED_FILE, t0, collected)
    page = _collected_logs(t0, tmp_path / COLLECTED_FILE)
    assert "Alarm updated from OK to ALARM" in page and " UTC" in page


def test_an_alarm_history_that_cannot_be_read_is_shown_as_not_read(tmp_path: Path, moto_server: str) -> None:
    """moto's server does not implement DescribeAlarmHistory (a 500): the boundary's error is the reason shown."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION, endpoint_url=moto_server)
    t0 = _alarm_goes_off_and_back(cloudwatch)
    collected = _driver(tmp_path, moto_server).component_logs(t0)
    write_collected(tmp_path / COLLECTED_FILE, t0, collected)
    sources = {source.component: source for source in read_collected(tmp_path / COLLECTED_FILE).sources}
    alarm = sources[f"cloudwatch-alarm {REGION}/{ALARM}"]
    assert alarm.lines == () and alarm.error is not None
    assert alarm.error.startswith("cloudwatch DescribeAlarmHistory failed: 500")
    events = sources["kubernetes-events primary/default"]  # the cluster's kubeconfig does not exist
    assert events.lines == () and "no-kubeconfig" in events.error
    page = _collected_logs(t0, tmp_path / COLLECTED_FILE)
    assert page.count("not read: ") == 2
