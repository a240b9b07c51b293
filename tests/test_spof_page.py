"""The page of a ``zerospof spof`` sweep and its place in the history, from recorded real sweeps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.recorded import SWEEP_IDS, recorded_reports
from zerospof.cli import main
from zerospof.errors import ConfigError
from zerospof.history_page import write_history_index
from zerospof.html_report import write_html_report
from zerospof.spof_page import load_sweep

NO_SPOF, SPOF_FOUND = "20261201T121609-3e351b-spof", "20261201T121726-6e74ce-spof"


@pytest.fixture()
def reports(tmp_path: Path) -> Path:
    return recorded_reports(tmp_path, (), sweep_ids=SWEEP_IDS)


def test_a_sweep_that_found_a_spof_says_so_first_and_names_the_member(reports: Path) -> None:
    page = write_html_report(reports / SPOF_FOUND).read_text()
    assert '<span id="verdict" class="verdict FAIL">SPOF FOUND</span>' in page
    row = re.search(r"<tr><td>network</td><td>lb-r1-a</td>.*?</tr>", page).group(0)
    assert ">SPOF<" in row and "users did not recover while lb-r1-a was down" in row and "3.6s down, 36 bad" in row


def test_a_sweep_with_no_spof_shows_each_member_with_what_users_felt(reports: Path) -> None:
    page = write_html_report(reports / NO_SPOF).read_text()
    assert '<span id="verdict" class="verdict PASS">NO SPOF</span>' in page
    assert page.count(">REDUNDANT<") == 3 and page.count(">DEGRADED<") == 1
    assert "19.7s down, 197 bad (0 slow), recovered in 20.4s, 7.6% of the monthly budget; fail-back 1.2s down" in page
    assert 'src="data:image/png;base64,' in page  # the heat map, inlined: nothing to fetch


def test_the_history_page_lists_the_sweeps(reports: Path) -> None:
    page = write_history_index(reports).read_text()
    assert "<h2>SPOF sweeps</h2>" in page
    assert page.index(SPOF_FOUND) < page.index(NO_SPOF)  # newest first
    assert re.search(rf'{SPOF_FOUND}</a></td><td>lab</td><td class="config">not recorded</td><td class="FAIL">SPOF FOUND</td>'
                     '<td>2</td><td>lb-r1-a</td>', page)


def test_a_sweep_file_that_is_not_one_is_bad_input(reports: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (reports / NO_SPOF / "spof.json").write_text('{"schema": "something/9"}')
    with pytest.raises(ConfigError, match="spof.json"):
        load_sweep(reports / NO_SPOF)
    assert main(["report", str(reports / NO_SPOF)]) == 2
    assert "schema" in capsys.readouterr().err


def test_a_static_audit_finding_makes_the_sweep_spof_found_and_a_member_not_exercised_is_no_pass(
        reports: Path) -> None:
    import json

    path = reports / NO_SPOF / "spof.json"
    document = json.loads(path.read_text())
    document["members"].append({"member": {"name": "db:orders/orders-0", "layer": "data", "kind": "database-writer",
                                           "place": "us-west-2a", "not_exercised": "no fault"},
                                "outcome": "not-exercised", "reasons": ["not exercised: no fault"], "figures": {}})
    document["audit"] = {"findings": [{"layer": "compute", "check": "disruption-budget", "subject": "deployment app/web",
                                       "message": "no PodDisruptionBudget selects its pods"}],
                         "checked": ["disruption-budget"], "not_audited": {"db-zones": "no inventory.databases"}}
    path.write_text(json.dumps(document))
    page = write_html_report(reports / NO_SPOF).read_text()
    assert '<span id="verdict" class="verdict FAIL">SPOF FOUND</span>' in page
    assert re.search(r'<td>db:orders/orders-0</td><td>us-west-2a</td><td class="INCOMPLETE">NOT-EXERCISED</td>', page)
    assert "deployment app/web" in page and "not audited: db-zones: no inventory.databases" in page
