"""The AWS + EKS target: target file, faults, safety guards, dry run, probes, and its scenario driver.

Entry points: :func:`load_aws_target` (validate a target file), :class:`AwsDriver` (what
``driver_for`` returns for a ``kind: aws`` target file: scenarios run through the experiments
``experiments/aws/*.yaml`` like on every target) and :func:`print_dry_run` (what
``zerospof run --target <file> --dry-run`` calls). Imported lazily, so that ``zerospof.k8s``
can use ``zerospof.aws.dry_run`` without an import cycle.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AwsDriver", "AwsTarget", "dry_run_scenario", "load_aws_target", "print_dry_run"]

_HOMES = {"AwsDriver": "driver", "AwsTarget": "target", "load_aws_target": "target",
          "dry_run_scenario": "run", "print_dry_run": "run"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(name)
    import importlib
    return getattr(importlib.import_module(f"zerospof.aws.{_HOMES[name]}"), name)
