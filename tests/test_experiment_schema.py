"""The experiment configuration's one declarative schema: every error at once, and the same rules exported as
JSON Schema for editors (``schemas/experiment.schema.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from zerospof.chaos.settings import ConfigurationRefused, experiment_json_schema
from zerospof.validate import validate_experiment

REPO = Path(__file__).resolve().parents[1]
EXPORTED = REPO / "schemas" / "experiment.schema.json"
EXPERIMENTS = sorted((REPO / "experiments").glob("*/*.yaml"))
BAD = {"zerospof_abort_floor": 2, "zerospof_settle": "5 parsecs", "zerospof_recovery_timout": "1min"}


def test_the_committed_json_schema_is_the_one_the_code_exports():
    assert json.loads(EXPORTED.read_text()) == json.loads(json.dumps(experiment_json_schema())), \
        "regenerate: python -m zerospof.chaos.settings > schemas/experiment.schema.json"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[f"{p.parent.name}/{p.name}" for p in EXPERIMENTS])
def test_every_repository_experiment_satisfies_the_exported_schema(path):
    validator = jsonschema.Draft202012Validator(json.loads(EXPORTED.read_text()))
    assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == []


def test_validate_reports_every_configuration_error_at_once_and_the_editor_schema_flags_the_same_keys(tmp_path):
    experiment = yaml.safe_load((REPO / "experiments" / "aws" / "az-failure.yaml").read_text())
    experiment["configuration"].update(BAD)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment))

    with pytest.raises(ConfigurationRefused) as caught:
        validate_experiment(path)

    keys = {error.key for error in caught.value.errors}
    assert keys == {f"configuration.{key}" for key in BAD}
    assert all(error.path == str(path) for error in caught.value.errors)
    assert str(caught.value).count(str(path)) == 3  # one line per problem
    validator = jsonschema.Draft202012Validator(experiment_json_schema())
    flagged = {"/".join(map(str, error.absolute_path)) for error in validator.iter_errors(experiment)}
    assert {"configuration/zerospof_abort_floor", "configuration/zerospof_settle", "configuration"} == flagged
