"""The AWS + EKS target: target file, faults, safety guards, dry run, probes, and the run entry point.

Entry points: :func:`load_aws_target` (validate a target file) and :func:`run_aws`
(what ``zerospof run --target <file>`` calls for a ``kind: aws`` target). Imported lazily,
so that ``zerospof.k8s`` can use ``zerospof.aws.dry_run`` without an import cycle.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AwsTarget", "dry_run_scenario", "load_aws_target", "run_aws", "run_scenario"]

_HOMES = {"AwsTarget": "target", "load_aws_target": "target",
          "dry_run_scenario": "run", "run_aws": "run", "run_scenario": "run"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(name)
    import importlib
    return getattr(importlib.import_module(f"zerospof.aws.{_HOMES[name]}"), name)
