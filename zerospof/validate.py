"""Validate objectives, target and experiment files before anything is injected."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from zerospof.errors import ConfigError
from zerospof.objectives import SCENARIOS, load_objectives
from zerospof.schema import Section, load_yaml_mapping

__all__ = ["FileKind", "detect_kind", "validate_file", "validate_experiment"]

FileKind = str  # "objectives" | "target" | "experiment"


def detect_kind(path: str | Path, data: dict[str, Any]) -> FileKind:
    """Tell an objectives, target or experiment file apart by its top-level keys."""
    if "method" in data or "steady-state-hypothesis" in data:
        return "experiment"
    if "kind" in data:
        return "target"
    if "scenarios" in data or "components" in data:
        return "objectives"
    raise ConfigError(str(path), "", "cannot tell what this file is: expected an objectives file "
                      "(components/scenarios), a target file (kind) or an experiment (method)")


def validate_experiment(path: str | Path) -> dict[str, Any]:
    """Validate a Chaos Toolkit experiment with chaoslib and the project's own rules; return it."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    path = str(path)
    data = load_yaml_mapping(path)
    top = Section(path, data)
    top.require(("title", "description", "method"))
    runtime = Section(path, data.get("runtime", {}), "runtime")
    rollbacks = Section(path, runtime.data.get("rollbacks", {}), "runtime.rollbacks")
    if rollbacks.data.get("strategy") != "always":
        raise rollbacks.error("strategy", "must be 'always' so faults are reverted on failed or interrupted "
                              "runs (chaoslib's default skips rollbacks then)", rollbacks.data.get("strategy"))
    scenario = data.get("configuration", {}).get("zerospof_scenario") if isinstance(data.get("configuration"), dict) else None
    if scenario is not None and scenario not in SCENARIOS:
        raise ConfigError(path, "configuration.zerospof_scenario", f"unknown scenario; expected one of: {', '.join(SCENARIOS)}", scenario)
    logging.getLogger("chaostoolkit").setLevel(logging.CRITICAL)
    try:
        experiment = load_experiment(path)
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise ConfigError(path, _guess_key(str(exc), data), f"invalid experiment: {exc}") from exc
    return experiment


def _guess_key(message: str, data: dict[str, Any]) -> str:
    """Name the activity the chaoslib message is about, when it names one."""
    for section in ("steady-state-hypothesis", "method", "rollbacks"):
        activities = data.get(section, [])
        if section == "steady-state-hypothesis" and isinstance(activities, dict):
            activities = activities.get("probes", [])
            section = "steady-state-hypothesis.probes"
        for index, activity in enumerate(activities if isinstance(activities, list) else []):
            if not isinstance(activity, dict):
                continue
            provider = activity.get("provider") if isinstance(activity.get("provider"), dict) else {}
            names = (activity.get("name"), provider.get("func"), provider.get("module"))
            if any(name and f"'{name}'" in message for name in names):
                return f"{section}[{index}]"
    return ""


def validate_file(path: str | Path) -> FileKind:
    """Validate one file of any kind; raise ConfigError on the first problem; return its kind."""
    data = load_yaml_mapping(path)
    kind = detect_kind(path, data)
    if kind == "objectives":
        load_objectives(path)
    elif kind == "experiment":
        validate_experiment(path)
    else:
        from zerospof.targets import load_target
        load_target(path)
    return kind
