"""The CI examples under ``docs/aws`` are valid for their tool and the commands they run work.

Each is validated with a tool made for it (check-jsonschema's vendored GitHub Actions and GitLab CI
schemas; kubernetes-validate's Kubernetes schemas, strict), then every ``zerospof`` and ``pytest``
command it runs is executed as written by ``bash`` with the example's variables pointing at a moto
server: ``zerospof run`` with ``--dry-run`` added (changes nothing), ``pytest`` with ``--collect-only``
added (the scenario selection must collect exactly the chosen scenarios' tests).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from tests.aws.moto_world import REGION, make_staging_vpc, target_document, write_target

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "aws"
GITHUB = DOCS / "staging-gate.github-workflow.yml"
GITLAB = DOCS / "staging-gate.gitlab-ci.yml"
CRONJOB = DOCS / "gameday.k8s-cronjob.yaml"
BIN = Path(sys.executable).parent
CHOSEN = "az-failure region-failure"


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


@pytest.mark.parametrize(("example", "schema"), [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")],
                         ids=["github-actions", "gitlab-ci"])
def test_the_ci_example_is_valid_against_its_schema(example, schema):
    child = subprocess.run([tool("check-jsonschema"), "--builtin-schema", schema, str(example)],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stdout + child.stderr


def test_the_kubernetes_examples_are_valid_kubernetes_objects():
    child = subprocess.run([tool("kubernetes-validate"), "--strict", "-k", "1.30", str(CRONJOB),
                            str(DOCS / "kubernetes-rbac.yaml")], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0 and "failed" not in child.stdout + child.stderr, child.stdout + child.stderr


def _lines(script: str) -> list[str]:
    return [line.strip() for line in script.replace("\\\n", " ").splitlines()]


def commands(example: Path) -> list[str]:
    """The zerospof and pytest command lines the example runs, in order."""
    documents = list(yaml.safe_load_all(example.read_text()))
    lines: list[str] = []
    if example == GITHUB:
        for step in documents[0]["jobs"]["gate"]["steps"]:
            lines += _lines(step.get("run", ""))
    elif example == GITLAB:
        for job in ("validate", "staging-gate"):
            for key in ("script", "after_script"):
                for entry in documents[0][job].get(key, []):
                    lines += _lines(entry)
    else:
        [cronjob] = [d for d in documents if d["kind"] == "CronJob"]
        [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        lines += [part.strip() for part in container["args"][0].split("&&")]
    return [line for line in lines if re.match(r"(zerospof|pytest) ", line)]


def dry(command: str, reports: Path) -> str:
    """The command made harmless: a run prints its calls, the gate only collects."""
    command = command.replace("reports/", f"{reports}/").replace("/reports", str(reports))
    if command.startswith("zerospof run") and "--dry-run" not in command:
        command = command.replace(" --json", "") + " --dry-run"
    if command.startswith("pytest"):
        command += " --collect-only -q -p no:cacheprovider -o addopts="
    return command


@pytest.fixture
def moto_target(moto_server, tmp_path):
    make_staging_vpc(boto3.client("ec2", region_name=REGION, endpoint_url=moto_server))
    boto3.client("s3", region_name=REGION, endpoint_url=moto_server).create_bucket(
        Bucket="zerospof-ledger-staging", CreateBucketConfiguration={"LocationConstraint": REGION})
    document = target_document()
    document["aws"]["endpoint_url"] = moto_server
    document.pop("kubernetes")
    return moto_server, write_target(tmp_path, document)


@pytest.mark.parametrize("example", [GITHUB, GITLAB, CRONJOB], ids=["github-actions", "gitlab-ci", "k8s-cronjob"])
def test_the_examples_commands_run_in_dry_run(example, moto_target, tmp_path):
    endpoint, target = moto_target
    found = commands(example)
    assert any(c.startswith("zerospof run") or c.startswith("pytest") for c in found)
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": f"{BIN}:{os.environ['PATH']}",
           "ZEROSPOF_TARGET_FILE": str(target), "ZEROSPOF_SCENARIOS": CHOSEN,
           "ZEROSPOF_LEDGER_DIR": str(tmp_path / "ledger"), "ZEROSPOF_LEDGER_MIRROR": "s3://zerospof-ledger-staging/gate",
           "AWS_ENDPOINT_URL_S3": endpoint}
    for command in found:
        child = subprocess.run(["bash", "-c", dry(command, tmp_path / "reports")], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=300)
        assert child.returncode == 0, f"{command}\n{child.stdout[-3000:]}\n{child.stderr[-3000:]}"
        if command.startswith("pytest"):
            collected = {line.split("::")[0] for line in child.stdout.splitlines() if "::" in line}
            assert collected == {"scenarios/test_az_failure.py", "scenarios/test_region_failure.py"}, child.stdout
        if command.startswith("zerospof run"):
            assert "# dry run of az-failure" in child.stdout and "# dry run of region-failure" in child.stdout
