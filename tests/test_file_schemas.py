"""The objectives and target files' declarative schemas: every error of a file at once (file, key path, value) on
every path that loads them (``zerospof validate``, ``zerospof run --dry-run``, the pytest gate; ``chaos run`` in
tests/aws/test_chaos_cli.py), and the same rules exported as JSON Schema for editors (``schemas/*.schema.json``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from zerospof.aws.target import target_json_schema
from zerospof.errors import ConfigError
from zerospof.objectives import load_objectives, objectives_json_schema
from zerospof.targets import load_target

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = {"objectives": (objectives_json_schema, "python -m zerospof.objectives"),
           "target": (target_json_schema, "python -m zerospof.aws.target")}
FILES = {"objectives": [REPO / "objectives.yaml"], "target": sorted((REPO / "targets").glob("*.yaml"))}

# three different mistakes per file kind: a bad value, an unknown key (a typo), a wrong type
OBJECTIVES_ERRORS = {
    "scenarios.az-failure.detection": ("30 parsecs", lambda d: d["scenarios"]["az-failure"].update(detection="30 parsecs")),
    "scenarios.gitops.recovry": ("automatic", lambda d: d["scenarios"]["gitops"].update(recovry="automatic")),
    "components.dns.availability": (99.9, lambda d: d["components"]["dns"].update(availability=99.9)),
}
TARGET_ERRORS = {
    "aws.regions.primary": ("us-west-9x", lambda d: d["aws"]["regions"].update(primary="us-west-9x")),
    "safety.abort.limt": ("60s", lambda d: d["safety"]["abort"].update(limt="60s")),
    "scenarios.control-plane.api_port": ("443", lambda d: d["scenarios"]["control-plane"].update(api_port="443")),
}


def broken(tmp_path: Path, kind: str) -> tuple[Path, dict[str, object]]:
    """A copy of the repository's objectives file or target example with three mistakes; (path, {key: value})."""
    source, errors = (REPO / "objectives.yaml", OBJECTIVES_ERRORS) if kind == "objectives" else \
        (REPO / "targets" / "staging.example.yaml", TARGET_ERRORS)
    document = yaml.safe_load(source.read_text())
    for _, mutate in errors.values():
        mutate(document)
    path = tmp_path / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path, {key: value for key, (value, _) in errors.items()}


@pytest.mark.parametrize("kind", SCHEMAS)
def test_the_committed_json_schema_is_the_one_the_code_exports(kind):
    export, command = SCHEMAS[kind]
    committed = json.loads((REPO / "schemas" / f"{kind}.schema.json").read_text())
    assert committed == json.loads(json.dumps(export())), f"regenerate: {command} > schemas/{kind}.schema.json"


@pytest.mark.parametrize("kind, path", [(kind, path) for kind, paths in FILES.items() for path in paths],
                         ids=lambda value: value.name if isinstance(value, Path) else value)
def test_the_repository_files_satisfy_their_schema_and_name_it_for_editors(kind, path):
    validator = jsonschema.Draft202012Validator(json.loads((REPO / "schemas" / f"{kind}.schema.json").read_text()))
    assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == []
    modeline = f"# yaml-language-server: $schema={Path('..' if kind == 'target' else '.') / 'schemas' / f'{kind}.schema.json'}"
    assert modeline in path.read_text().splitlines()


@pytest.mark.parametrize("kind", SCHEMAS)
def test_every_error_is_reported_at_once_with_file_key_and_value_and_the_editor_flags_the_same_keys(tmp_path, kind):
    path, expected = broken(tmp_path, kind)
    with pytest.raises(ConfigError) as caught:
        load_objectives(path) if kind == "objectives" else load_target(path)

    assert {error.key: error.value for error in caught.value.errors} == expected
    assert all(error.path == str(path) for error in caught.value.errors)
    assert str(caught.value).count(str(path)) == 3  # one line per problem
    validator = jsonschema.Draft202012Validator(json.loads((REPO / "schemas" / f"{kind}.schema.json").read_text()))
    assert set(expected) <= flagged_keys(validator.iter_errors(yaml.safe_load(path.read_text())))


def flagged_keys(errors) -> set[str]:
    """The key paths JSON Schema errors point at (into anyOf/oneOf branches; an unexpected key by its own name)."""
    found = set()
    for error in errors:
        if error.context:
            found |= flagged_keys(error.context)
            continue
        key = ".".join(str(part) for part in error.absolute_path)
        if error.validator == "additionalProperties":
            extra = set(error.instance) - set(error.schema.get("properties", {}))
            found |= {f"{key}.{name}" if key else name for name in extra}
        else:
            found.add(key)
    return found


def test_a_typo_gets_a_did_you_mean(tmp_path):
    path, _ = broken(tmp_path, "target")
    with pytest.raises(ConfigError) as caught:
        load_target(path)
    [typo] = [error for error in caught.value.errors if error.key == "safety.abort.limt"]
    assert "did you mean 'limit'?" in typo.detail and "availability_floor, limit" in typo.detail


def zerospof(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zerospof.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


@pytest.mark.parametrize("kind", SCHEMAS)
def test_zerospof_validate_reports_all_three_errors_and_exits_2(tmp_path, kind):
    path, expected = broken(tmp_path, kind)
    child = zerospof("validate", "--json", str(path))
    assert child.returncode == 2, child.stderr
    [result] = json.loads(child.stdout)["files"]
    assert {error["key"]: error["value"] for error in result["errors"]} == {key: repr(value) for key, value in
                                                                             expected.items()}


@pytest.mark.parametrize("kind", SCHEMAS)
def test_zerospof_run_dry_run_reports_all_three_errors_before_anything_and_exits_2(tmp_path, kind):
    path, expected = broken(tmp_path, kind)
    other = "--target" if kind == "objectives" else "--objectives"
    child = zerospof("run", "az-failure", "--dry-run", f"--{kind}", str(path),
                     other, str(REPO / ("targets/staging.example.yaml" if kind == "objectives" else "objectives.yaml")),
                     "--reports", str(tmp_path / "reports"), cwd=tmp_path)
    assert child.returncode == 2, child.stdout + child.stderr
    for key, value in expected.items():
        assert f"{path}: {key}: " in child.stderr and repr(value) in child.stderr, key


@pytest.mark.parametrize("kind", SCHEMAS)
def test_the_pytest_gate_reports_all_three_errors_at_collection_and_exits_2(tmp_path, kind):
    path, expected = broken(tmp_path, kind)
    child = subprocess.run([sys.executable, "-m", "pytest", str(REPO / "scenarios"), "--rootdir", str(REPO),
                            "-p", "no:cacheprovider", "-o", "addopts=", "--collect-only", "-q", f"--{kind}", str(path)],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120,
                           env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert child.returncode == 2, child.stdout[-3000:]
    for key, value in expected.items():
        assert f"{path}: {key}: " in child.stdout and repr(value) in child.stdout, key
