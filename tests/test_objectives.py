"""The objectives file: the repository's own file loads, and every kind of mistake is named precisely."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from zerospof.errors import ConfigError
from zerospof.objectives import load_objectives, parse_limit
from zerospof.units import parse_duration_s, parse_percent
from zerospof.verdict import Comparison

REPO = Path(__file__).resolve().parents[1]


def test_the_repository_objectives_hold_both_tables_of_the_seed(objectives):
    assert set(objectives.scenarios) == {"az-failure", "region-failure", "control-plane", "gitops"}
    assert objectives.components["load-balancers"].availability_pct == 99.999
    assert objectives.components["data-plane"].rto.value_s == 300
    region = objectives.scenarios["region-failure"].limits
    assert region["detection_s"].value_s == 120 and region["detection_s"].comparison is Comparison.LT
    assert region["rpo_s"].value_s == 60
    assert objectives.scenarios["az-failure"].limits["reads.downtime_s"].comparison is Comparison.EQ_ZERO
    assert objectives.slow_request_s == 1.0 and objectives.write_rate_hz == 10.0
    assert objectives.scenarios["gitops"].limits["deployment_delay_s"].value_s == 120


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("5min", 300), ("500ms", 0.5), ("1h", 3600),
                                           ("2m", 120), (0, 0), ("0", 0), (1.5, 1.5)])
def test_durations_parse_in_human_units(text, seconds):
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize("text", ["-5s", "5 parsecs", "", "fast", True])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration_s(text)


def test_limits_keep_their_operator():
    assert parse_limit("< 30s").comparison is Comparison.LT
    assert parse_limit("<= 5min").comparison is Comparison.LE
    assert parse_limit("0").comparison is Comparison.EQ_ZERO
    with pytest.raises(ValueError, match="never be met"):
        parse_limit("< 0s")


def test_percentages_are_bounded():
    assert parse_percent("99.99%") == 99.99
    for bad in ("101%", "-1%", "99.99", "high"):
        with pytest.raises(ValueError):
            parse_percent(bad)


def _base() -> dict:
    return yaml.safe_load((REPO / "objectives.yaml").read_text())


def _broken(mutate) -> dict:
    data = _base()
    mutate(data)
    return data


MALFORMED = {
    "unknown top-level key": (lambda d: d.update(scenaros={}), "scenaros", "unknown key"),
    "unknown key that looks like a union tag": (lambda d: d.update({"<": None}), "<", "unknown key"),
    "unknown per-path key beside a tag": (lambda d: d["scenarios"]["gitops"].update(downtime={"<limit>": "0"}),
                                          "scenarios.gitops.downtime.<limit>", "unknown key"),
    "typo in a scenario id": (lambda d: d["scenarios"].update({"az-failur": d["scenarios"].pop("az-failure")}),
                              "scenarios.az-failur", "unknown key"),
    "typo in a scenario key": (lambda d: d["scenarios"]["gitops"].update(detecton="< 30s"),
                               "scenarios.gitops.detecton", "unknown key"),
    "unknown component": (lambda d: d["components"].update(kafka={"availability": "99%", "rto": "1s", "rpo": "0"}),
                          "components.kafka", "unknown key"),
    "negative duration": (lambda d: d["scenarios"]["az-failure"].update(detection="< -30s"),
                          "scenarios.az-failure.detection", "negative"),
    "percentage over 100": (lambda d: d["components"]["dns"].update(availability="100.5%"),
                            "components.dns.availability", "between 0% and 100%"),
    "percentage without %": (lambda d: d["components"]["dns"].update(availability=99.9),
                             "components.dns.availability", "percentage"),
    "unknown unit": (lambda d: d["scenarios"]["control-plane"].update(detection="< 60 fortnights"),
                     "scenarios.control-plane.detection", "duration"),
    "missing detection": (lambda d: d["scenarios"]["region-failure"].pop("detection"),
                          "scenarios.region-failure.detection", "missing"),
    "missing component rpo": (lambda d: d["components"]["gitops"].pop("rpo"), "components.gitops.rpo", "missing"),
    "unknown recovery mode": (lambda d: d["scenarios"]["gitops"].update(recovery="eventually"),
                              "scenarios.gitops.recovery", "eventually"),
    "scenario that is not a mapping": (lambda d: d["scenarios"].update(gitops="< 30s"),
                                       "scenarios.gitops", "expected a mapping"),
    "bad availability rate": (lambda d: d["measurement"].update({"availability-rate": "0/s"}),
                              "measurement.availability-rate", "rate"),
    "impossible limit": (lambda d: d["scenarios"]["gitops"].update(rto="< 0s"), "scenarios.gitops.rto", "never"),
    "missing scenarios section": (lambda d: d.pop("scenarios"), "scenarios", "missing"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_objectives_name_file_key_and_problem(tmp_path, case):
    mutate, key, words = MALFORMED[case]
    path = tmp_path / "objectives.yaml"
    path.write_text(yaml.safe_dump(_broken(mutate)))
    with pytest.raises(ConfigError) as caught:
        load_objectives(path)
    assert caught.value.path == str(path)
    assert caught.value.key == key
    assert words in str(caught.value)


def test_unparsable_yaml_names_the_line(tmp_path):
    path = tmp_path / "objectives.yaml"
    path.write_text("scenarios:\n  gitops: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+"):
        load_objectives(path)


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_objectives(tmp_path / "nope.yaml")


def test_validate_exits_2_and_names_the_key(tmp_path):
    path = tmp_path / "objectives.yaml"
    path.write_text(yaml.safe_dump(_broken(MALFORMED["percentage over 100"][0])))
    good = REPO / "objectives.yaml"
    result = subprocess.run([sys.executable, "-m", "zerospof.cli", "validate", str(good), str(path)],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert f"ok: {good}" in result.stdout
    assert f"{path}: components.dns.availability" in result.stderr
