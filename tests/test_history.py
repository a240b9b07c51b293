"""``zerospof history``, ``reports/index.html`` and ``zerospof run --baseline`` on recorded real runs."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.recorded import RUN_IDS, recorded_reports
from zerospof import reports_cli
from zerospof.cli import build_parser, main
from zerospof.errors import ConfigError
from zerospof.history import find_runs
from zerospof.history_page import write_history_index

FIRST = RUN_IDS[0]


@pytest.fixture(autouse=True)
def no_lab_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports drawn here read no lab logs of this machine."""
    monkeypatch.setenv("ZEROSPOF_LAB_DIR", str(tmp_path / "no-lab"))


def test_history_reads_runs_from_several_directories_side_by_side(tmp_path: Path) -> None:
    machine_a = recorded_reports(tmp_path, RUN_IDS[:1], "machine-a")
    machine_b = recorded_reports(tmp_path, RUN_IDS[1:] or RUN_IDS[:1], "machine-b")
    runs = find_runs([machine_a, machine_b])
    assert [run.run_id for run in runs] == list(RUN_IDS)  # each once, oldest first
    assert all(run.target == "lab" for run in runs)


def test_history_lists_every_run_and_scenario_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = recorded_reports(tmp_path)
    assert main(["history", "--reports", str(reports), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [run["run_id"] for run in listed] == list(RUN_IDS)
    first = listed[0]
    assert first["verdict"] == "FAIL" and first["target"] == "lab" and first["started"].startswith("2026-12-01T11:55:57")
    assert set(first["scenarios"]) == {"az-failure", "region-failure", "control-plane", "gitops"}
    detection = first["scenarios"]["az-failure"]["figures"]["detection_s"]
    assert detection["value"] == pytest.approx(0.733, abs=0.001) and detection["resolution_s"] > 0
    assert first["scenarios"]["control-plane"]["figures"]["rpo_s"]["value"] is None  # not measured stays None


def test_history_filters_by_scenario_and_keeps_the_last_n(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = recorded_reports(tmp_path)
    assert main(["history", "--reports", str(reports), "--scenario", "gitops", "--last", "1", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 1 and list(listed[0]["scenarios"]) == ["gitops"]
    assert main(["history", "--reports", str(reports), "--scenario", "gitops"]) == 0
    table = capsys.readouterr().out
    assert "gitops" in table and "az-failure" not in table and "833ms" in table


def test_history_of_a_missing_directory_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--reports", str(tmp_path / "nothing")]) == 2
    assert "--reports" in capsys.readouterr().err


def test_the_history_page_lists_runs_and_draws_each_trend_with_its_objective(tmp_path: Path) -> None:
    reports = recorded_reports(tmp_path)
    page = write_history_index(reports).read_text()
    for run_id in RUN_IDS:
        assert f'href="{run_id}/index.html"' in page
    assert page.count('class="trend-chart"') >= 4 * 3
    assert 'id="trend-region-failure"' in page
    assert page.count('class="objective"') >= 4  # detection has an objective in every scenario
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def _fake_run_handler(recorded: Path, run_id: str, rpo_s: float | None = None):
    """A stand-in for ``zerospof run``'s handler (fake: no lab, no fault): it 'writes' a new run directory by
    copying a recorded run under a new id, optionally with its region-failure RPO replaced."""
    def handler(args: argparse.Namespace) -> int:
        target = Path(args.reports) / run_id
        shutil.copytree(recorded, target)
        data = json.loads((target / "measurements.json").read_text())
        data["run_id"] = run_id
        if rpo_s is not None:
            data["scenarios"]["region-failure"]["measurements"]["rpo_s"]["value"] = rpo_s
        (target / "measurements.json").write_text(json.dumps(data))
        return 0
    return handler


def _run_args(reports: Path, *extra: str) -> argparse.Namespace:
    return build_parser().parse_args(["run", "--reports", str(reports), *extra])


def test_run_with_a_baseline_flags_the_rpo_and_gates_only_when_asked(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    reports = recorded_reports(tmp_path, RUN_IDS[:1])
    new_id = "20991231T000000-abcdef"
    handler = _fake_run_handler(reports / FIRST, new_id, rpo_s=15.0)
    status = reports_cli._run_with_baseline(handler, _run_args(reports, "--baseline", "last", "--fail-on-regression"))
    assert status == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "rpo_s" in out
    saved = json.loads((reports / new_id / "regressions.json").read_text())
    assert {f["figure"] for f in saved["figures"] if f["regressed"]} == {"rpo_s"}
    junit = ElementTree.parse(reports / new_id / "regressions.junit.xml").getroot()
    failures = [case.get("name") for case in junit.iter("testcase") if case.find("failure") is not None]
    assert failures == ["rpo_s"] and int(junit.get("failures")) == 1
    page = (reports / new_id / "index.html").read_text()
    assert "Regressions" in page and "REGRESSED" in page


def test_run_with_a_baseline_does_not_gate_without_fail_on_regression(tmp_path: Path) -> None:
    reports = recorded_reports(tmp_path, RUN_IDS[:1])
    handler = _fake_run_handler(reports / FIRST, "20991231T000000-abcdef", rpo_s=15.0)
    assert reports_cli._run_with_baseline(handler, _run_args(reports, "--baseline", FIRST)) == 0


def test_a_run_against_an_identical_baseline_is_not_flagged(tmp_path: Path) -> None:
    reports = recorded_reports(tmp_path, RUN_IDS[:1])
    handler = _fake_run_handler(reports / FIRST, "20991231T000000-abcdef")
    assert reports_cli._run_with_baseline(handler, _run_args(reports, "--baseline", "last", "--fail-on-regression")) == 0
    saved = json.loads((reports / "20991231T000000-abcdef" / "regressions.json").read_text())
    assert saved["figures"] and not any(f["regressed"] for f in saved["figures"])


def test_an_unknown_baseline_is_refused_before_the_run_starts(tmp_path: Path) -> None:
    reports = recorded_reports(tmp_path, RUN_IDS[:1])
    calls = []
    with pytest.raises(ConfigError, match="20990101T000000-nothere"):
        reports_cli._run_with_baseline(calls.append, _run_args(reports, "--baseline", "20990101T000000-nothere"))
    assert calls == []


def test_fail_on_regression_without_a_baseline_is_bad_input(tmp_path: Path) -> None:
    assert main(["run", "--reports", str(tmp_path), "--fail-on-regression"]) == 2


def test_report_redraws_the_page_of_a_run_on_disk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = recorded_reports(tmp_path)
    assert main(["report", str(reports / FIRST)]) == 0
    assert (reports / FIRST / "index.html").is_file() and (reports / "index.html").is_file()
    assert main(["report", str(reports / "ledger")]) == 2
    assert "not a zerospof run directory" in capsys.readouterr().err
