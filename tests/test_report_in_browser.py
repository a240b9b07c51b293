"""The HTML report opened in a real browser: Debian's headless Chromium (bin/setup installs it)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.recorded import recorded_reports
from zerospof.browser import chromium, visit
from zerospof.html_report import write_html_reports

pytestmark = pytest.mark.skipif(chromium() is None, reason="chromium is not installed: run bin/setup")

COMPLETE = "20261201T115557-dcbaf7"
CHECKS = {
    "verdict": "document.getElementById('verdict').textContent",
    "scenarios": "[...document.querySelectorAll('section.scenario h2')].map(h => h.id)",
    "charts": "[...document.querySelectorAll('section.scenario')].map(s => "
              "[...s.querySelectorAll('svg.timeline-chart')].filter(c => c.getBoundingClientRect().height > 200).length)",
    "outage_bars": "document.querySelectorAll('#az-failure ~ figure svg rect.outage, svg rect.outage').length",
}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_the_report_loads_in_chromium_without_errors_or_network_and_shows_verdict_and_charts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEROSPOF_LAB_DIR", str(tmp_path / "no-lab"))
    reports = recorded_reports(tmp_path)
    page = write_html_reports(reports / COMPLETE)
    visited = visit(page.as_uri(), CHECKS)
    assert visited.console_errors == []
    assert visited.network_requests == []
    assert visited.requests == [page.as_uri()]  # the page itself, nothing else
    assert visited.evaluated["verdict"] == "FAIL"
    assert visited.evaluated["scenarios"] == ["az-failure", "region-failure", "control-plane", "gitops"]
    assert visited.evaluated["charts"] == [1, 1, 1, 1]  # each scenario's chart, laid out with a real height
    assert visited.evaluated["outage_bars"] > 0
    kept = page.with_suffix(".png")  # written by write_html_reports: the screenshot kept with the report
    width, height = png_size(kept.read_bytes())
    assert width >= 1000 and height > 3000  # the whole page, not the first screen


def test_the_check_sees_console_errors_and_network_requests(tmp_path: Path) -> None:
    """The browser check itself can fail: a page that logs an error and fetches from the network is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><p id="verdict">PASS</p>'
                    '<img src="http://127.0.0.1:9/missing.png"><script>console.error("boom")</script></body></html>')
    visited = visit(page.as_uri(), {"verdict": "document.getElementById('verdict').textContent"})
    assert visited.network_requests == ["http://127.0.0.1:9/missing.png"]
    assert "boom" in visited.console_errors
    assert visited.evaluated["verdict"] == "PASS"
