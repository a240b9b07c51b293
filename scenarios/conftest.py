"""The gate's own options and hooks: scenario selection, time limits, and exit code 3 on harness errors.

- ``--scenario ID`` (repeatable, or comma-separated) runs only those scenarios; every gate test also
  carries its scenario id as a keyword (``-k az-failure``) and the marker ``gate``.
- Each gate test gets a pytest-timeout limit derived from its experiment's own bounds (readiness,
  recovery and rollback waits; see :func:`zerospof.chaos.runner.time_limits`), so pytest's global
  ``timeout`` never cuts a run short; ``--time-limit`` overrides it. The run has its own, earlier,
  graceful limit, and whichever fires, the run's faults are reverted.
- A harness or target error (no credentials, not ready, refused, time limit) is a pytest ERROR of
  every test of the scenario (Allure: broken) with the root cause in the message, and the session
  exits 3 instead of 1.
"""

from __future__ import annotations

import pytest

SCENARIOS = ("az-failure", "region-failure", "control-plane", "gitops")
HARNESS_ERRORS = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zerospof gate")
    group.addoption("--scenario", action="append", default=[], metavar="ID",
                    help=f"run only this scenario's gate (repeatable or comma-separated: {', '.join(SCENARIOS)})")
    group.addoption("--time-limit", default=None, metavar="DURATION",
                    help="pytest-timeout limit of each gate test (e.g. 20min); default: derived from the experiment")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gate: a scenario gate test (scenarios/test_*.py)")
    config.stash[HARNESS_ERRORS] = []


def selected_scenarios(config: pytest.Config) -> list[str]:
    """The ``--scenario`` ids; a UsageError naming an unknown one."""
    chosen = [part.strip() for value in config.getoption("--scenario") for part in value.split(",") if part.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        raise pytest.UsageError(f"--scenario {unknown[0]!r}: unknown scenario; expected one of: {', '.join(SCENARIOS)}")
    return chosen


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from scenarios.gate import gate_time_limit_s

    chosen = selected_scenarios(config)
    kept, dropped = [], []
    limits: dict[str, float | None] = {}
    for item in items:
        scenario = getattr(getattr(item, "cls", None), "SCENARIO", None)
        if not scenario:
            kept.append(item)
            continue
        if chosen and scenario not in chosen:
            dropped.append(item)
            continue
        item.add_marker(pytest.mark.gate)
        item.extra_keyword_matches.add(scenario)
        if scenario not in limits:
            limits[scenario] = gate_time_limit_s(config, scenario)
        if limits[scenario] is not None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(limits[scenario], method="signal"))  # an exception, so the run reverts
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Exit 3 (harness or target error) rather than 1 when a scenario could not be judged at all."""
    from zerospof.errors import EXIT_ERROR

    errors = session.config.stash.get(HARNESS_ERRORS, [])
    if errors and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = EXIT_ERROR


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # noqa: ANN001
    for error in config.stash.get(HARNESS_ERRORS, []):
        terminalreporter.write_line(f"HARNESS OR TARGET ERROR (exit 3): {error}", red=True, bold=True)
