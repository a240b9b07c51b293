"""The history page and a SPOF sweep's page opened in a real browser (Debian's headless Chromium), from recorded
real runs (tests/fixtures): each loads with no console error and no network request, shows what it is for, and
keeps its screenshot next to it. Also the timeline charts' promises (issue 12 item 4), checked where they are
drawn: in the browser, on every recorded run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.recorded import RUN_IDS, SWEEP_IDS, recorded_reports
from tests.test_report_in_browser import png_size
from zerospof.browser import chromium, visit
from zerospof.history import load_run
from zerospof.html_report import write_html_report, write_html_reports
from zerospof.timeline import Timeline

pytestmark = pytest.mark.skipif(chromium() is None, reason="chromium is not installed: run bin/setup")

SPOF_FOUND = "20261201T121726-6e74ce-spof"

HISTORY = {
    "runs": "[...document.querySelectorAll('table')[0].querySelectorAll('tr')].slice(1).map(r => "
            "[r.cells[0].textContent, r.cells[4].className])",
    "sweeps": "[...document.querySelectorAll('a')].map(a => a.getAttribute('href')).filter(h => h.includes('-spof'))",
    "trend_charts": "[...document.querySelectorAll('svg.trend-chart')].filter(c => c.getBoundingClientRect().height > 100)"
                    ".map(c => c.closest('.trends').previousElementSibling.id)",
    "objective_lines": "document.querySelectorAll('svg.trend-chart line.objective').length",
    "points": "document.querySelectorAll('svg.trend-chart circle').length",
}
SWEEP = {
    "verdict": "document.getElementById('verdict').textContent",
    "members": "[...document.querySelectorAll('table tr')].slice(1).map(r => [r.cells[1].textContent, r.cells[3].textContent])",
    "heatmap": "(i => i ? [i.naturalWidth, i.naturalHeight] : null)(document.querySelector('img[alt=\"heat map\"]'))",
}
# Per chart: the panels it draws, the outage bars' size, and the marker badges (number, label, box).
CHARTS = {
    "charts": """[...document.querySelectorAll('svg.timeline-chart')].map(svg => ({
        scenario: svg.closest('section.scenario').querySelector('h2').id,
        panels: [...svg.querySelectorAll('[data-panel]')].map(p => p.dataset.panel),
        outage: [...svg.querySelectorAll('rect.outage')].map(r => [r.getBoundingClientRect().width,
                                                                   r.getBoundingClientRect().height]),
        latency: [...svg.querySelectorAll('polyline[class^=latency-]')].map(p => [p.getAttribute('class'),
                                                                                 p.points.numberOfItems]),
        badges: [...svg.querySelectorAll('g.marker')].map(g => ({key: g.getAttribute('class'),
            box: (b => [b.left, b.top, b.right, b.bottom])(g.querySelector('circle').getBoundingClientRect())})),
        legend: [...svg.querySelectorAll('text.marker-label')].map(t => t.textContent),
    }))""",
}


def test_the_history_page_over_the_recorded_runs_loads_cleanly_and_shows_verdicts_and_trends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEROSPOF_LAB_DIR", str(tmp_path / "no-lab"))
    reports = recorded_reports(tmp_path, sweep_ids=SWEEP_IDS)
    assert len(RUN_IDS) >= 5
    write_html_reports(reports / RUN_IDS[-1])  # what a run does: its page, then the history page, both shot
    history = reports / "index.html"
    visited = visit(history.as_uri(), HISTORY)
    assert visited.console_errors == [] and visited.network_requests == []
    assert visited.requests == [history.as_uri()]
    runs = dict(visited.evaluated["runs"])
    assert list(runs) == list(reversed(RUN_IDS))  # every run, newest first
    assert runs["20261201T115557-dcbaf7"] == "FAIL" and runs["20261201T120746-ad3086"] == "INCOMPLETE"
    assert runs["20261201T134623-567f32"] == "PASS"
    assert sorted(visited.evaluated["sweeps"]) == [f"{sweep}/index.html" for sweep in SWEEP_IDS]
    charts = visited.evaluated["trend_charts"]
    for scenario in ("az-failure", "region-failure", "control-plane", "gitops"):
        assert charts.count(f"trend-{scenario}") >= 3  # laid out with a real height, per scenario
    assert visited.evaluated["objective_lines"] >= 4 and visited.evaluated["points"] >= 5 * 4
    width, height = png_size(history.with_suffix(".png").read_bytes())  # the screenshot kept next to the page
    assert width >= 1000 and height > 2000


def test_a_sweeps_page_loads_cleanly_and_shows_its_matrix_and_heat_map(tmp_path: Path) -> None:
    reports = recorded_reports(tmp_path, (), sweep_ids=SWEEP_IDS)
    page = write_html_reports(reports / SPOF_FOUND)
    visited = visit(page.as_uri(), SWEEP)
    assert visited.console_errors == [] and visited.network_requests == []
    assert visited.evaluated["verdict"] == "SPOF FOUND"
    members = dict(visited.evaluated["members"])
    assert members and members["lb-r1-a"] == "SPOF"
    width, height = visited.evaluated["heatmap"]
    assert width > 100 and height > 50  # the inlined heat map decoded and drawn
    shot_width, shot_height = png_size(page.with_suffix(".png").read_bytes())
    assert shot_width >= 1000 and shot_height > 500


def _all_bad_bins(scenario_dir: Path, slow_s: float | None) -> int:
    """Counted here, apart from the chart code: 0.5 s bins (from t0) of a user path where no request was good."""
    timeline = Timeline.read_jsonl(scenario_dir / "timeline.jsonl")
    origin = timeline.t0() if timeline.t0() is not None else timeline.samples[0].t_mono
    count = 0
    for probe in ("availability", "writes"):
        bins: dict[int, bool] = {}
        for sample in timeline.samples_of(probe):
            served = sample.ok and (slow_s is None or sample.latency_s is None or sample.latency_s <= slow_s)
            index = math.floor((sample.t_mono - origin) / 0.5)
            bins[index] = bins.get(index, False) or served
        count += sum(1 for served in bins.values() if not served)
    return count


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("run_id", RUN_IDS)
def test_every_recorded_chart_shows_each_path_latency_outages_and_markers_apart(
        run_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEROSPOF_LAB_DIR", str(tmp_path / "no-lab"))
    reports = recorded_reports(tmp_path, (run_id,))
    page = write_html_report(reports / run_id)
    charts = visit(page.as_uri(), CHARTS).evaluated["charts"]
    scenarios = load_run(reports / run_id).scenarios
    recorded = [name for name in scenarios if (reports / run_id / name / "timeline.jsonl").is_file()]
    assert charts and [chart["scenario"] for chart in charts] == recorded
    for chart in charts:
        where = f"{run_id} {chart['scenario']}"
        expected = _all_bad_bins(reports / run_id / chart["scenario"], scenarios[chart["scenario"]].get("slow_request_s"))
        assert len(chart["outage"]) == expected, where  # every total-outage bin is drawn, none blank
        assert chart["panels"] == ["reads", "writes", "latency"], where  # each shown in its own panel
        assert sorted(name for name, _ in chart["latency"]) == ["latency-reads", "latency-writes"], where
        assert all(points > 0 for _, points in chart["latency"]), where
        assert all(width >= 1 and height >= 5 for width, height in chart["outage"]), where  # visible at 0
        boxes = [badge["box"] for badge in chart["badges"]]
        for i, first in enumerate(boxes):
            for second in boxes[i + 1:]:
                assert not _overlap(first, second), f"{where}: marker badges overlap: {chart['badges']}"
        keys = [badge["key"] for badge in chart["badges"]]
        if "marker marker-detection_s" in keys and "marker marker-rto_s" in keys:
            detected = [label for label in chart["legend"] if label.startswith("detected")]
            recovered = [label for label in chart["legend"] if label.startswith("recovered (RTO)")]
            assert len(detected) == 1 and len(recovered) == 1, where
