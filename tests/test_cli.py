"""The ``zerospof`` command line: version, help with examples and exit codes, lazy imports, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from zerospof import __version__
from zerospof.objectives import SCENARIOS
from zerospof.run import SCENARIOS as RUN_SCENARIOS

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("zerospof.lab.lab", "zerospof.chaos.runner", "zerospof.objectives", "zerospof.report", "chaoslib", "boto3",
         "matplotlib", "kubernetes", "yaml")


def zerospof(*argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zerospof.cli", *argv], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)


def test_version():
    child = zerospof("--version")
    assert child.returncode == 0 and child.stdout.strip() == f"zerospof {__version__}"


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["revert", "--help"], ["validate", "--help"]])
def test_help_shows_examples_and_exit_codes(argv):
    child = zerospof(*argv)
    assert child.returncode == 0
    assert "example" in child.stdout and "exit codes" in child.stdout


def test_help_loads_none_of_the_heavy_modules():
    code = ("import sys\nfrom zerospof.cli import build_parser\nbuild_parser().format_help()\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    child = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert child.stdout.strip() == "[]", child.stderr


def test_the_cli_knows_the_same_scenarios_as_the_objectives():
    assert tuple(RUN_SCENARIOS) == tuple(SCENARIOS)


def test_an_unknown_scenario_is_bad_input_exit_2():
    child = zerospof("run", "az-failur")
    assert child.returncode == 2 and "az-failur" in child.stderr


def test_progress_lines_say_how_long_and_what_is_awaited(monkeypatch, tmp_path):
    import io
    import logging
    import time

    from zerospof import run

    monkeypatch.setattr(run, "PROGRESS_EVERY_S", 0.1)
    chaos_logger = logging.getLogger("chaostoolkit")
    monkeypatch.setattr(chaos_logger, "level", logging.INFO)  # as the runner sets it
    out = io.StringIO()
    game_day = run.GameDay(["az-failure"], "lab", tmp_path / "objectives.yaml", tmp_path, out=out)

    def printed(text: str, limit_s: float = 10.0) -> bool:  # a loaded machine may delay a 0.1 s tick
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if any(text in line for line in out.getvalue().splitlines()):
                return True
            time.sleep(0.05)
        return False

    with run._Progress(game_day, "az-failure"):
        logging.getLogger("chaostoolkit").info("Rollbacks strategy: always")
        assert printed("s elapsed, waiting for the target to be ready"), out.getvalue()
        logging.getLogger("chaostoolkit").info("Action: wait-for-failover")
        assert printed("s elapsed, waiting for action wait-for-failover"), out.getvalue()


def test_validate_json_lists_every_file_valid_or_with_its_errors(tmp_path):
    import json

    bad = tmp_path / "objectives.yaml"
    bad.write_text((REPO / "objectives.yaml").read_text().replace('detection: "< 30s"', 'detection: "soon"', 1))
    child = zerospof("validate", "--json", str(REPO / "objectives.yaml"), str(bad))
    document = json.loads(child.stdout)
    assert child.returncode == 2 and document["exit_code"] == 2
    good, broken = document["files"]
    assert good["valid"] and good["kind"] == "objectives"
    assert not broken["valid"] and broken["errors"][0]["key"] == "scenarios.az-failure.detection"
