"""The run's self-contained ``index.html``, drawn from recorded real runs (tests/fixtures)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from tests.recorded import RUN_IDS, recorded_lab_logs, recorded_reports
from zerospof.html_report import write_html_report, write_html_reports
from zerospof.svg_charts import timeline_markers
from zerospof.timeline import Timeline

COMPLETE, INTERRUPTED, WITH_LOGS = "20261201T115557-dcbaf7", "20261201T120746-ad3086", "20261201T121311-bcd235"


@pytest.fixture()
def reports(tmp_path: Path) -> Path:
    return recorded_reports(tmp_path)


def page_of(reports: Path, run_id: str, log_dirs: list[Path] | None = None) -> str:
    return write_html_report(reports / run_id, log_dirs=log_dirs or []).read_text()


def section(page: str, scenario: str) -> str:
    start = page.index(f'<h2 id="{scenario}">')
    end = page.find('<section class="scenario">', start)
    return page[start:] if end < 0 else page[start:end]


def rows(part: str) -> list[list[str]]:
    """Every table row of ``part`` as its cells' text."""
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", part)]


def test_the_verdict_comes_first_with_its_reasons(reports: Path) -> None:
    page = page_of(reports, COMPLETE)
    assert page.index('id="verdict"') < page.index("<h2")
    assert re.search(r'<span id="verdict" class="verdict FAIL">FAIL</span>', page)
    assert "load-balancers.rto_s: not measured (signal:lb-health-check never reported all_out)" in page[:page.index("<h2")]


def test_every_scenario_has_its_objectives_paths_layers_detection_and_chart(reports: Path) -> None:
    page = page_of(reports, COMPLETE)
    for scenario in ("az-failure", "region-failure", "control-plane", "gitops"):
        part = section(page, scenario)
        for heading in ("Objectives", "User paths", "Layers", "Detection signals", "Timeline", "What was injected",
                        "Component logs around t0"):
            assert f"<h3>{heading}</h3>" in part, (scenario, heading)
        assert part.count('class="timeline-chart"') == 1
    assert page.count('class="timeline-chart"') == 4


def test_the_detection_table_lists_every_signal_with_its_utc_time(reports: Path) -> None:
    part = section(page_of(reports, COMPLETE), "az-failure")
    # recorded: lb-health-check 733 ms, dns-health-check 1.0 s, patroni-failover 22.7 s after t0 11:56:09.594
    signals = [row for row in rows(part) if row and row[0].startswith("signal:")]
    # recorded before each signal's resolution was kept: "n/a", not a made-up figure
    assert signals == [["signal:dns-health-check", "1.0s", "n/a", "11:56:10.623", "", ""],
                       ["signal:lb-health-check", "733ms", "n/a", "11:56:10.327", "first", ""],
                       ["signal:patroni-failover", "22.7s", "n/a", "11:56:32.327", "", ""]]


def test_the_layers_show_their_error_budget_consumption(reports: Path) -> None:
    part = section(page_of(reports, COMPLETE), "az-failure")
    assert "23.8s of downtime = 9.2% of the 99.99% monthly budget of 4.3min" in part


def test_the_injected_fault_and_its_ledger_record_are_shown(reports: Path) -> None:
    part = section(page_of(reports, COMPLETE), "region-failure")
    assert "<b>lose-region</b>" in part or "region-loss(" in part
    assert "Ledger record <code>" in part and "&quot;state&quot;: &quot;reverted&quot;" in part


def test_a_ledger_record_that_is_gone_is_said_so(reports: Path) -> None:
    for record in (reports / "ledger").iterdir():
        record.unlink()
    journal_path = reports / COMPLETE / "az-failure" / "journal.json"
    journal = json.loads(journal_path.read_text())
    journal["run"][0]["output"]["ledger"] = str(reports / "elsewhere" / "record.json")  # the machine that ran it
    journal_path.write_text(json.dumps(journal))
    part = section(page_of(reports, COMPLETE), "az-failure")
    assert "not found at report time" in part


def test_a_total_outage_is_a_visible_bar_and_markers_are_labelled_apart(reports: Path) -> None:
    part = section(page_of(reports, COMPLETE), "az-failure")
    # recorded: writes failed for ~24 s while the Patroni failover ran: dozens of 0.5 s bins with no good write
    assert part.count('class="outage"') >= 30
    for key in ("fault-injecting", "fault-verified", "detection_s", "rto_s", "fault-reverted"):
        assert f'class="marker marker-{key}"' in part
    assert "detected 733ms: +0.73s from t0, 11:56:10.327 UTC" in part
    assert "recovered (RTO) 36.1s: +36.13s from t0, 11:56:45.723 UTC" in part
    control_plane = section(page_of(reports, COMPLETE), "control-plane")
    assert 'class="outage"' not in control_plane  # recorded: no request failed


def test_markers_come_from_the_timeline_and_the_report(reports: Path) -> None:
    timeline = Timeline.read_jsonl(reports / COMPLETE / "az-failure" / "timeline.jsonl")
    report = {"measurements": {"detection_s": {"value": 0.5}, "rto_s": {"value": None}}}
    keys = [marker.key for marker in timeline_markers(timeline, report)]
    assert keys == ["fault-injecting", "fault-verified", "detection_s", "fault-reverted"]  # no RTO: not drawn at 0
    t0 = timeline.t0()
    report["measurements"]["observer_stalled_s"] = {"value": 2.5, "detail": {"stalls": [[t0 + 3.0, t0 + 5.5]]}}
    [stall] = [marker for marker in timeline_markers(timeline, report) if marker.key == "observer-stalled"]
    assert stall.at_s == pytest.approx(3.0) and stall.label == "harness not running for 2.5s"


def test_an_interrupted_run_is_reported_incomplete_with_what_it_measured(reports: Path) -> None:
    page = page_of(reports, INTERRUPTED)
    assert '<span id="verdict" class="verdict INCOMPLETE">INCOMPLETE</span>' in page
    assert "the run did not finish" in page
    part = section(page, "region-failure")
    assert ["reads RTO", "< 5.0min", "n/a (not measured: never recovered: no success after the last failure)", "n/a",
            "50ms", "FAIL"] in rows(part)
    assert part.count('class="timeline-chart"') == 1


def test_the_page_needs_no_network_and_runs_no_script(reports: Path) -> None:
    page = page_of(reports, COMPLETE)
    assert "<script" not in page.lower()
    external = re.findall(r'(?:src|href)="(?!#)([^"]+)"', page)
    assert external == []  # no image, style sheet or font to fetch (endpoints quoted in the journal are text)


def test_writing_the_run_report_refreshes_the_history_page(reports: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEROSPOF_LAB_DIR", str(reports / "no-lab"))
    page = write_html_reports(reports / RUN_IDS[0])
    assert page == reports / RUN_IDS[0] / "index.html"
    history = (reports / "index.html").read_text()
    assert all(run_id in history for run_id in RUN_IDS)


def test_the_component_log_lines_around_t0_are_shown_with_utc_and_seconds_from_t0(reports: Path, tmp_path: Path) -> None:
    part = section(page_of(reports, WITH_LOGS, [recorded_lab_logs(tmp_path)]), "az-failure")
    lines = {row[2]: row for row in rows(part) if len(row) == 3 and row[1].endswith("s") and row[1][0] in "+-"}
    # recorded: t0 12:13:21.097; HAProxy on lb-r1-b marked app-r1-a down 0.78 s later
    down = next(row for text, row in lines.items() if "Server app/app-r1-a is DOWN, reason: Layer4 timeout" in text)
    assert down[:2] == ["12:13:21.879", "+0.78s"]
    assert "<summary>pg-r1-b" in part and "<summary>cp-etcd-r1-a" in part and "<summary>dns1" not in part
    assert all(-10.0 <= float(row[1][:-1]) <= 40.0 for row in lines.values())


def test_a_lab_run_without_logs_in_its_window_says_so(reports: Path, tmp_path: Path) -> None:
    part = section(page_of(reports, COMPLETE, [recorded_lab_logs(tmp_path)]), "az-failure")  # logs of a later run
    assert "No timestamped line within the window around t0" in part


def test_marker_badges_at_the_same_instant_go_on_separate_rows_and_apart_ones_share_the_first() -> None:
    from zerospof.svg_charts import badge_lanes

    # injection, t0 and an RTO of 0 within a pixel; detection 20 px later; the revert far away
    assert badge_lanes([300.0, 300.6, 300.6, 320.0, 700.0]) == [0, 1, 2, 0, 0]
    assert badge_lanes([]) == []
