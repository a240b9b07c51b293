"""Experiment files are validated (chaoslib plus the project's rules) before anything is injected."""

from __future__ import annotations

import copy

import pytest
import yaml

from zerospof.errors import ConfigError
from zerospof.validate import validate_experiment, validate_file

VALID = {
    "title": "a valid experiment",
    "description": "parses a duration",
    "configuration": {"zerospof_scenario": "az-failure"},
    "runtime": {"rollbacks": {"strategy": "always"}},
    "controls": [{"name": "zerospof-measurement", "provider": {"type": "python", "module": "zerospof.chaos.control"}}],
    "method": [{
        "type": "probe", "name": "parse-a-duration",
        "provider": {"type": "python", "module": "zerospof.units", "func": "parse_duration_s",
                     "arguments": {"text": "1s"}},
    }],
}


def write(tmp_path, data) -> str:
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_a_valid_experiment_passes(tmp_path):
    assert validate_file(write(tmp_path, VALID)) == "experiment"


def _set(path, value):
    def mutate(data):
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return mutate


MALFORMED = {
    "rollback strategy left at the default": (lambda d: d.pop("runtime"), "runtime.rollbacks.strategy"),
    "rollback strategy deviated": (_set(["runtime", "rollbacks", "strategy"], "deviated"), "runtime.rollbacks.strategy"),
    "no method": (lambda d: d.pop("method"), "method"),
    "no title": (lambda d: d.pop("title"), "title"),
    "unknown scenario": (_set(["configuration", "zerospof_scenario"], "az-failur"), "configuration.zerospof_scenario"),
    "misspelt argument": (lambda d: d["method"][0]["provider"].update(arguments={"txt": "1s"}),
                          "method[0].provider.arguments"),
    "missing module": (lambda d: d["method"][0]["provider"].update(module="zerospof.nosuch"), "method[0].provider.module"),
    "missing function": (lambda d: d["method"][0]["provider"].update(func="nosuch"), "method[0].provider.func"),
    "no measurement control": (lambda d: d.pop("controls"), "controls"),
    "empty method": (_set(["method"], []), "method"),
    "unknown zerospof key": (_set(["configuration", "zerospof_recovery_timeuot"], "1min"),
                             "configuration.zerospof_recovery_timeuot"),
    "duration in parsecs": (_set(["configuration", "zerospof_recovery_timeout"], "5 parsecs"),
                            "configuration.zerospof_recovery_timeout"),
    "abort floor above 1": (_set(["configuration", "zerospof_abort_floor"], 2), "configuration.zerospof_abort_floor"),
    "negative timeout": (_set(["configuration", "zerospof_ready_timeout"], "-5s"), "configuration.zerospof_ready_timeout"),
    "run id escaping its directory": (_set(["configuration", "zerospof_run_id"], "../../etc"),
                                      "configuration.zerospof_run_id"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_experiments_fail_naming_the_key(tmp_path, case):
    mutate, key = MALFORMED[case]
    data = copy.deepcopy(VALID)
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        validate_experiment(path)
    assert caught.value.path == path
    assert caught.value.key == key
