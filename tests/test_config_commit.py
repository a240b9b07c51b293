"""The commit of a run's configuration files: asked of real git in the file's directory, None with the reason
when there is none, and shown in the run's report, ``zerospof history`` (table and JSON) and reports/index.html."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.recorded import RUN_IDS, recorded_reports
from zerospof.cli import main
from zerospof.config_commit import config_commit
from zerospof.history_page import write_history_index
from zerospof.html_report import write_html_report
from zerospof.run import GameDay

REPO = Path(__file__).resolve().parents[1]


def git(directory: Path, *arguments: str) -> str:
    return subprocess.run(["git", "-C", str(directory), "-c", "user.name=t", "-c", "user.email=t@example.com",
                           *arguments], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def config_repo(tmp_path: Path) -> Path:
    """A git repository holding a committed objectives file."""
    repository = tmp_path / "platform-config"
    repository.mkdir()
    git(repository, "init", "-q")
    (repository / "objectives.yaml").write_text((REPO / "objectives.yaml").read_text())
    git(repository, "add", "objectives.yaml")
    git(repository, "commit", "-q", "-m", "objectives")
    return repository


def test_a_committed_file_has_its_repositorys_head_commit_and_is_clean(config_repo: Path) -> None:
    found = config_commit(config_repo / "objectives.yaml")
    assert found.commit == git(config_repo, "rev-parse", "HEAD") and found.dirty is False and found.reason is None


def test_an_edited_file_is_dirty(config_repo: Path) -> None:
    with (config_repo / "objectives.yaml").open("a") as file:
        file.write("\n# edited after the commit\n")
    found = config_commit(config_repo / "objectives.yaml")
    assert found.commit == git(config_repo, "rev-parse", "HEAD") and found.dirty is True


def test_a_file_outside_git_or_untracked_has_no_commit_and_says_why(config_repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "loose.yaml"
    outside.write_text("a: 1\n")
    (config_repo / "untracked.yaml").write_text("a: 1\n")
    assert config_commit(outside).commit is None and "not in a git repository" in config_commit(outside).reason
    untracked = config_commit(config_repo / "untracked.yaml")
    assert untracked.commit is None and untracked.dirty is None and "not tracked" in untracked.reason


def test_the_game_day_records_each_configuration_files_commit(config_repo: Path, tmp_path: Path) -> None:
    game_day = GameDay(["az-failure"], "lab", config_repo / "objectives.yaml", tmp_path / "reports")
    game_day._write_reports()  # what every run writes, before and after its scenarios
    saved = json.loads((game_day.run_dir / "measurements.json").read_text())["config"]
    assert saved["objectives"]["commit"] == git(config_repo, "rev-parse", "HEAD")
    assert saved["target"]["commit"] is None and "built into zerospof" in saved["target"]["reason"]


def test_history_and_the_reports_show_the_commit(config_repo: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEROSPOF_LAB_DIR", str(tmp_path / "no-lab"))
    reports = recorded_reports(tmp_path, RUN_IDS[:2])
    game_day = GameDay(["az-failure"], "lab", config_repo / "objectives.yaml", reports)
    game_day._write_reports()
    commit = git(config_repo, "rev-parse", "HEAD")
    assert main(["history", "--reports", str(reports), "--json"]) == 0
    listed = {run["run_id"]: run for run in json.loads(capsys.readouterr().out)}
    assert listed[game_day.run_id]["config"]["objectives"]["commit"] == commit
    assert listed[RUN_IDS[0]]["config"] is None  # recorded before runs kept it: not recorded, never made up
    assert main(["history", "--reports", str(reports)]) == 0
    table = capsys.readouterr().out
    assert "config commit" in table and f"objectives {commit[:12]}" in table and "not recorded" in table
    assert f"objectives {commit[:12]}" in write_history_index(reports).read_text()
    assert f"objectives {commit[:12]}" in write_html_report(game_day.run_dir).read_text()


def test_a_sweeps_page_and_the_history_show_its_configuration_commit(config_repo: Path, tmp_path: Path) -> None:
    from tests.recorded import SWEEP_IDS
    from zerospof.run import configuration_commits

    reports = recorded_reports(tmp_path, (), sweep_ids=SWEEP_IDS)
    sweep = reports / SWEEP_IDS[-1] / "spof.json"
    document = json.loads(sweep.read_text())
    document["config"] = configuration_commits("lab", config_repo / "objectives.yaml")  # what `zerospof spof` records
    sweep.write_text(json.dumps(document))
    commit = git(config_repo, "rev-parse", "HEAD")[:12]
    assert f"objectives {commit}" in write_html_report(reports / SWEEP_IDS[-1]).read_text()
    history = write_history_index(reports).read_text()
    assert f"objectives {commit}" in history and "not recorded" in history  # the older sweep recorded none
