"""Fixtures shared by the suite's own tests and the scenarios (the CI gate).

The scenarios (``scenarios/test_*.py``) run their Chaos Toolkit experiment through chaoslib
against ``--target`` (``lab`` by default: brought up for the session and down afterwards
unless ``--keep-lab``), then assert each objective of ``objectives.yaml`` separately.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zerospof.chaos.runner import ScenarioResult, experiment_path, run_experiment_file
from zerospof.chaos.settings import new_run_id
from zerospof.chaos.verdict import CONDITIONS
from zerospof.faults import Ledger
from zerospof.objectives import Objectives, load_objectives
from zerospof.scenario import objective_names
from zerospof.targets import LabTarget, resolve_target
from zerospof.timeline import Timeline

pytest_plugins = ("tests.k8s.fixtures",)  # the real Kubernetes API: kube_control_plane, cluster, kube, ...

REPO = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zerospof")
    group.addoption("--target", default="lab", help="scenario target: 'lab' (default) or a target file")
    group.addoption("--objectives", default=str(REPO / "objectives.yaml"), help="objectives file")
    group.addoption("--keep-lab", action="store_true", help="leave the lab up after the session")
    group.addoption("--real-target", dest="real_target", default=None, metavar="PATH",  # see tests/aws/real_account.py
                    help="AWS target file of a real account for the real_cluster contract tests "
                         "(default: $ZEROSPOF_REAL_TARGET)")


@pytest.fixture(scope="session")
def objectives(pytestconfig: pytest.Config) -> Objectives:
    """The objectives file (``--objectives``, default the repository's), validated."""
    return load_objectives(pytestconfig.getoption("--objectives"))


@pytest.fixture
def timeline() -> Timeline:
    """A fresh timeline for one test."""
    return Timeline()


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """A ledger in the test's own directory, so tests never see each other's records."""
    return Ledger(tmp_path / "ledger")


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[str]:
    """The scenario target; the lab is brought up once and always brought down (unless ``--keep-lab``)."""
    name = pytestconfig.getoption("--target")
    resolved = resolve_target(name)
    if not isinstance(resolved, LabTarget):
        yield name
        return
    from zerospof.lab import Lab

    lab = Lab()
    ours = not lab.supervisor.alive()  # a lab someone else started is left running
    try:
        lab.up()
        yield name
    finally:
        if ours and not pytestconfig.getoption("--keep-lab"):
            lab.down()


@pytest.fixture(scope="module")
def running_lab() -> Iterator[object]:
    """The default lab (the one scenarios use), up for the module's tests and down afterwards when they started it."""
    from zerospof.lab import Lab

    lab = Lab()
    ours = not lab.supervisor.alive()  # a lab someone else started is left running
    try:
        lab.up()
        yield lab
    finally:
        if ours:
            lab.down()


@pytest.fixture(scope="session")
def game_day_dir() -> Path:
    """``reports/<run-id>/`` of this pytest session."""
    return REPO / "reports" / f"pytest-{new_run_id()}"


@pytest.fixture(scope="session")
def run_scenario(target: str, objectives: Objectives, pytestconfig: pytest.Config,
                 game_day_dir: Path) -> Callable[..., ScenarioResult]:
    """Run one scenario's experiment on the target and return its result (journal, report, timeline)."""
    kind = "lab" if isinstance(resolve_target(target), LabTarget) else "aws"

    def run(scenario: str, **configuration: object) -> ScenarioResult:
        run_dir = game_day_dir / scenario
        result = run_experiment_file(experiment_path(kind, scenario), {
            "zerospof_target": target, "zerospof_objectives": pytestconfig.getoption("--objectives"),
            "zerospof_run_id": f"{game_day_dir.name}-{scenario}", "zerospof_run_dir": str(run_dir),
            **configuration,
        })
        _attach(result)
        return result
    return run


def _attach(result: ScenarioResult) -> None:
    """Allure (the scenario's set-up, shared by its tests): steps for inject / detect / recover / revert,
    the chart, journal and measurements."""
    import allure

    from zerospof.report import timeline_chart

    report = result.report
    measurements = report.get("measurements", {})
    phases = report.get("phases") or {}
    for title, value in (("inject: fault verified in effect (t0)", 0.0),
                         ("detect", measurements.get("detection_s", {}).get("value")),
                         ("fail over", phases.get("fail_over_s")),
                         ("recover (sustained success)", measurements.get("rto_s", {}).get("value"))):
        with allure.step(f"{title}: {'not observed' if value is None else f't0 + {value:.2f}s'}"):
            pass
    with allure.step("revert: " + ("every fault reverted" if _condition(report, "fault-reverted") else "NOT reverted")):
        pass
    if (result.run_dir / "timeline.jsonl").exists():
        chart = timeline_chart(result.timeline(), result.run_dir / "timeline.png", result.scenario, report)
        allure.attach.file(str(chart), "timeline", allure.attachment_type.PNG)
        allure.attach.file(str(result.run_dir / "timeline.jsonl"), "timeline.jsonl", allure.attachment_type.TEXT)
    allure.attach(json.dumps(result.journal, indent=2, default=str), "journal", allure.attachment_type.JSON)
    allure.attach(json.dumps(report, indent=2, default=str), "measurements", allure.attachment_type.JSON)


def _condition(report: dict, name: str) -> bool:
    return any(c["name"] == name and c["passed"] for c in report.get("conditions", []))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Scenario gates (classes with ``SCENARIO``) get one test per objective and per experiment condition."""
    scenario = getattr(metafunc.cls, "SCENARIO", None)
    if not scenario:
        return
    resolve_target(metafunc.config.getoption("--target"))  # a malformed target file is a collection error: exit 2
    if "objective" in metafunc.fixturenames:
        path = metafunc.config.getoption("--objectives")
        names = objective_names(load_objectives(path), scenario)
        metafunc.parametrize("objective", names, ids=names)
    if "condition" in metafunc.fixturenames:
        metafunc.parametrize("condition", CONDITIONS, ids=CONDITIONS)
