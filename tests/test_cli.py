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
