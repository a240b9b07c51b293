"""Regressions against a baseline, on recorded real runs (tests/fixtures)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.recorded import RUN_IDS, recorded_reports
from zerospof.errors import ConfigError
from zerospof.history import RunRecord, find_runs, load_run
from zerospof.regression import baseline_figures, compare, parse_baseline

FIRST = RUN_IDS[0]


@pytest.fixture()
def runs(tmp_path: Path) -> list[RunRecord]:
    return find_runs([recorded_reports(tmp_path)])


def with_value(run: RunRecord, scenario: str, names: tuple[str, ...], value: float | None, run_id: str) -> RunRecord:
    """A copy of a recorded run with some figures of one scenario replaced (a derived input, not a recording)."""
    scenarios = copy.deepcopy(run.scenarios)
    for name in names:
        scenarios[scenario]["measurements"][name]["value"] = value
    return RunRecord(run_id, run.directory, run.target, scenarios)


def flagged(figures: list[Any]) -> dict[tuple[str, str], Any]:
    return {(f.scenario, f.figure): f for f in figures if f.regressed}


def test_a_run_compared_with_itself_has_no_regression(runs: list[RunRecord]) -> None:
    run = runs[0]
    baseline = baseline_figures([run], FIRST, list(run.scenarios))
    figures = compare(run.scenarios, baseline)
    assert figures, "nothing was compared"
    assert {f.scenario for f in figures} == set(run.scenarios)
    assert flagged(figures) == {}


def test_a_run_whose_rpo_worsened_against_a_normal_baseline_is_flagged_on_rpo(runs: list[RunRecord]) -> None:
    normal = runs[0]
    assert normal.figure("region-failure", "rpo_s")["value"] == 0.0  # the recorded normal run lost nothing
    throttled = with_value(normal, "region-failure", ("rpo_s", "data-plane.rpo_s", "overall-system.rpo_s"), 12.5,
                           "20991231T000000-throttled")
    figures = compare(throttled.scenarios, baseline_figures([normal], "last", list(normal.scenarios)))
    assert set(flagged(figures)) == {("region-failure", "rpo_s"), ("region-failure", "data-plane.rpo_s"),
                                     ("region-failure", "overall-system.rpo_s")}
    rpo = flagged(figures)[("region-failure", "rpo_s")]
    assert (rpo.baseline, rpo.measured, rpo.baseline_run) == (0.0, 12.5, FIRST)
    assert rpo.allowed == pytest.approx(2 * normal.figure("region-failure", "rpo_s")["resolution_s"])


def test_a_worsening_within_twice_the_resolution_is_not_flagged(runs: list[RunRecord]) -> None:
    normal = runs[0]
    resolution = normal.figure("region-failure", "rpo_s")["resolution_s"]
    slightly = with_value(normal, "region-failure", ("rpo_s",), 1.9 * resolution, "20991231T000000-slightly")
    figures = compare(slightly.scenarios, baseline_figures([normal], "last", ["region-failure"]))
    assert ("region-failure", "rpo_s") not in flagged(figures)
    worse = with_value(normal, "region-failure", ("rpo_s",), 2.1 * resolution, "20991231T000000-worse")
    assert ("region-failure", "rpo_s") in flagged(compare(worse.scenarios, baseline_figures([normal], "last", ["region-failure"])))


def test_the_relative_threshold_allows_a_proportional_worsening(runs: list[RunRecord]) -> None:
    normal = runs[0]
    rto = normal.figure("region-failure", "writes.rto_s")["value"]
    slower = with_value(normal, "region-failure", ("writes.rto_s",), rto * 1.15, "20991231T000000-slower")
    baseline = baseline_figures([normal], "last", ["region-failure"])
    assert ("region-failure", "writes.rto_s") not in flagged(compare(slower.scenarios, baseline, relative=0.2))
    assert ("region-failure", "writes.rto_s") in flagged(compare(slower.scenarios, baseline, relative=0.1))


def test_a_figure_no_longer_measured_is_a_regression(runs: list[RunRecord]) -> None:
    normal = runs[0]
    undetected = with_value(normal, "az-failure", ("detection_s",), None, "20991231T000000-undetected")
    figure = flagged(compare(undetected.scenarios, baseline_figures([normal], "last", ["az-failure"])))[("az-failure", "detection_s")]
    assert figure.measured is None and figure.baseline is not None


def test_the_median_baseline_takes_the_median_of_the_last_n_runs(runs: list[RunRecord]) -> None:
    normal = runs[0]
    series = [with_value(normal, "gitops", ("rpo_s",), value, f"2099010{i}T000000-m{i}")
              for i, value in enumerate((1.0, 9.0, 2.0, 3.0), start=1)]
    baseline = baseline_figures(series, "median:3", ["gitops"])
    assert baseline["gitops"]["rpo_s"].value == 3.0  # median of 9, 2, 3: the oldest run is out of the window
    assert baseline["gitops"]["rpo_s"].runs == tuple(run.run_id for run in series[1:])


def test_the_baseline_excludes_the_run_being_judged(runs: list[RunRecord]) -> None:
    with pytest.raises(ConfigError, match="no earlier run"):
        baseline_figures(runs[:1], "last", ["az-failure"], exclude_run=FIRST)


@pytest.mark.parametrize("spec", ["median:0", "median:x", "median:"])
def test_a_malformed_baseline_is_bad_input(spec: str) -> None:
    with pytest.raises(ConfigError, match="--baseline"):
        parse_baseline(spec)


def test_an_unknown_run_id_is_bad_input_naming_it(runs: list[RunRecord]) -> None:
    with pytest.raises(ConfigError, match="20990101T000000-nothere"):
        baseline_figures(runs, "20990101T000000-nothere", ["az-failure"])


def test_a_recorded_incomplete_run_is_read_and_never_passes(tmp_path: Path) -> None:
    reports = recorded_reports(tmp_path)
    run = load_run(reports / FIRST)
    (reports / FIRST / "measurements.json").unlink()
    partial = load_run(reports / FIRST)
    assert not partial.complete and partial.verdict == "INCOMPLETE"
    assert set(partial.scenarios) == set(run.scenarios)
