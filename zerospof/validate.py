"""Validate objectives, target and experiment files before anything is injected."""

from __future__ import annotations

import importlib
import inspect
import logging
from pathlib import Path
from typing import Any

from zerospof.chaos.settings import check_configuration
from zerospof.errors import ConfigError
from zerospof.objectives import load_objectives
from zerospof.schema import Section, load_yaml_mapping

__all__ = ["FileKind", "detect_kind", "validate_file", "validate_experiment"]

FileKind = str  # "objectives" | "target" | "experiment"
MEASUREMENT_CONTROL = "zerospof.chaos.control"  # every experiment must declare it


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
    """Validate a Chaos Toolkit experiment with the project's rules and chaoslib's; return it as read.

    Refused, naming the key: rollbacks not played always, no measurement control, ``zerospof_*``
    configuration keys that are unknown or invalid, an empty method, and a Python activity whose
    module, function or arguments do not exist (each at its own key).
    """
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    path = str(path)
    data = load_yaml_mapping(path)
    top = Section(path, data)
    top.require(("title", "description", "method"))
    runtime = Section(path, data.get("runtime", {}), "runtime")
    rollbacks = Section(path, runtime.data.get("rollbacks", {}), "runtime.rollbacks")
    if rollbacks.data.get("strategy") != "always":
        raise rollbacks.error("strategy", "must be 'always' so faults are reverted on failed or interrupted "
                              "runs (chaoslib's default skips rollbacks then)", rollbacks.data.get("strategy"))
    _check_measurement_control(path, data.get("controls"))
    check_configuration(data.get("configuration"), path)
    if not isinstance(data["method"], list) or not data["method"]:
        raise ConfigError(path, "method", "expected a list of at least one activity", data["method"])
    _check_sections(path, data)
    for key, activity in _activities(data):
        _check_python_activity(path, key, activity)
    logging.getLogger("chaostoolkit").setLevel(logging.CRITICAL)
    try:
        ensure_experiment_is_valid(data)
    except (ChaosException, TypeError, ValueError, KeyError, AttributeError) as exc:  # chaoslib on odd shapes
        raise ConfigError(path, _guess_key(str(exc), data), f"invalid experiment: {type(exc).__name__}: {exc}") from exc
    return data


def _check_sections(path: str, data: dict[str, Any]) -> None:
    """The shapes chaoslib assumes without checking: lists of activity mappings, a hypothesis mapping."""
    for section in ("rollbacks", "controls"):
        if section in data and not isinstance(data[section], list):
            raise ConfigError(path, section, "expected a list", data[section])
    if "steady-state-hypothesis" in data:
        hypothesis = Section(path, data["steady-state-hypothesis"], "steady-state-hypothesis")
        if "probes" in hypothesis.data and not isinstance(hypothesis.data["probes"], list):
            raise hypothesis.error("probes", "expected a list", hypothesis.data["probes"])
    for key, activity in _activities(data):
        if not isinstance(activity, dict):
            raise ConfigError(path, key, "expected an activity (a mapping)", activity)
        if "provider" in activity and not isinstance(activity["provider"], dict):
            raise ConfigError(path, f"{key}.provider", "expected a mapping", activity["provider"])


def _check_measurement_control(path: str, controls: object) -> None:
    """Refuse an experiment without zerospof's measurement control: nothing would observe, judge or guard the fault."""
    if controls is not None and not isinstance(controls, list):
        raise ConfigError(path, "controls", "expected a list", controls)
    for control in controls or []:
        provider = control.get("provider") if isinstance(control, dict) else None
        if isinstance(provider, dict) and provider.get("type") == "python" and provider.get("module") == MEASUREMENT_CONTROL:
            return
    raise ConfigError(path, "controls", f"must include the measurement control (provider: {{type: python, module: "
                      f"{MEASUREMENT_CONTROL}}}): without it the fault runs unmeasured and without the abort guard",
                      controls)


def _activities(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """``(key path, activity)`` of every activity: steady-state probes, method, rollbacks."""
    found: list[tuple[str, Any]] = []
    hypothesis = data.get("steady-state-hypothesis")
    if isinstance(hypothesis, dict) and isinstance(hypothesis.get("probes"), list):
        found += [(f"steady-state-hypothesis.probes[{i}]", a) for i, a in enumerate(hypothesis["probes"])]
    for section in ("method", "rollbacks"):
        if isinstance(data.get(section), list):
            found += [(f"{section}[{i}]", a) for i, a in enumerate(data[section])]
    return found


def _check_python_activity(path: str, key: str, activity: Any) -> None:
    """Refuse a Python activity whose module, function or arguments do not exist, at that very key."""
    provider = activity.get("provider") if isinstance(activity, dict) else None
    if not isinstance(provider, dict) or provider.get("type") != "python":
        return  # chaoslib checks the rest
    module_name, func_name = provider.get("module"), provider.get("func")
    if not isinstance(module_name, str) or not module_name:
        raise ConfigError(path, f"{key}.provider.module", "expected a Python module name", module_name)
    if not isinstance(func_name, str) or not func_name:
        raise ConfigError(path, f"{key}.provider.func", "expected a function name", func_name)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(path, f"{key}.provider.module", f"cannot import: {exc}", module_name) from exc
    func = getattr(module, func_name, None)
    if not callable(func):
        public = sorted(name for name in getattr(module, "__all__", []) if callable(getattr(module, name, None)))
        raise ConfigError(path, f"{key}.provider.func", f"{module_name} has no such function"
                          + (f"; it has: {', '.join(public)}" if public else ""), func_name)
    arguments = provider.get("arguments", {})
    if not isinstance(arguments, dict):
        raise ConfigError(path, f"{key}.provider.arguments", "expected a mapping", arguments)
    signature = inspect.signature(func)
    supplied = {name: None for name in ("configuration", "secrets") if name in signature.parameters}
    try:
        signature.bind(**{**supplied, **arguments})
    except TypeError as exc:
        raise ConfigError(path, f"{key}.provider.arguments", f"do not fit {func_name}{signature}: {exc}",
                          arguments) from exc


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
    """Validate one file of any kind; raise ConfigError (objectives and target files: listing every problem); return
    its kind."""
    data = load_yaml_mapping(path)
    kind = detect_kind(path, data)
    if kind == "objectives":
        if not load_objectives(path).scenarios:
            raise ConfigError(str(path), "scenarios", "names no scenario: nothing could be judged", data.get("scenarios"))
    elif kind == "experiment":
        validate_experiment(path)
    else:
        from zerospof.targets import load_target
        load_target(path)
    return kind
