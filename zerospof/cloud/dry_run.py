"""Dry run: a client wrapper that lets reads through and records every change instead of making it.

All AWS and Kubernetes client calls of the suite go through :class:`ApiProxy` (chaosaws and
chaosk8s activities through :func:`zerospof.cloud.extensions.call_activity`, which records the same
way). Without a recorder it only translates errors (see :mod:`zerospof.cloud.boundary`). With a
:class:`CallRecorder` it still performs read-only calls (``Describe*``/``Get*``/``List*``,
``read_*``/``list_*``) so the plan names the real resources, and turns every other call into a
:class:`PlannedCall`: printed, never sent.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from zerospof.cloud.boundary import translated

__all__ = ["ApiProxy", "CallRecorder", "DryRunResult", "PlannedCall", "is_read_only"]

_READ_PREFIXES = ("Describe", "Get", "List", "read_", "list_", "get_")


def is_read_only(operation: str) -> bool:
    """Return True for operations that only read (AWS ``Describe*``/``Get*``/``List*``, k8s ``read_*``/``list_*``)."""
    return operation.startswith(_READ_PREFIXES)


@dataclass(frozen=True)
class PlannedCall:
    """One call a dry run would have made."""

    service: str
    operation: str
    parameters: dict[str, Any]

    def render(self) -> str:
        """Format as one line: ``DRY-RUN ec2 ReplaceNetworkAclAssociation {...}``."""
        shown = json.dumps(self.parameters, sort_keys=True, default=str)
        return f"DRY-RUN {self.service} {self.operation} {shown}"


@dataclass
class CallRecorder:
    """Collect (and print, when ``out`` is set) the calls a dry run would have made."""

    out: TextIO | None = None
    calls: list[PlannedCall] = field(default_factory=list)

    def record(self, call: PlannedCall) -> None:
        """Remember ``call`` and print it."""
        self.calls.append(call)
        if self.out is not None:
            print(call.render(), file=self.out, flush=True)

    @classmethod
    def printing(cls) -> CallRecorder:
        """Return a recorder that prints to standard output."""
        return cls(out=sys.stdout)


class DryRunResult(dict):  # type: ignore[type-arg]
    """A stand-in response: any missing ``...Id`` key reads as ``"dry-run-<Key>"``, others as empty."""

    def __missing__(self, key: str) -> Any:
        if key.endswith(("Id", "Arn", "id")):
            return f"dry-run-{key}"
        return DryRunResult()


class ApiProxy:
    """Wrap a boto3 client or a kubernetes API object: translate errors, and record changes in dry run."""

    def __init__(self, target: Any, service: str, recorder: CallRecorder | None = None) -> None:
        self._target = target
        self._service = service
        self._recorder = recorder

    @property
    def dry_run(self) -> bool:
        """True when changes are recorded instead of made."""
        return self._recorder is not None

    def _operation_name(self, method: str) -> str:
        meta = getattr(self._target, "meta", None)
        mapping = getattr(meta, "method_to_api_mapping", None) or {}
        return mapping.get(method, method)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if name.startswith("_") or not callable(attribute):
            return attribute
        operation = self._operation_name(name)
        return self._wrap(attribute, operation)

    def _wrap(self, method: Callable[..., Any], operation: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self._recorder is not None and not is_read_only(operation):
                parameters = dict(kwargs)
                if args:
                    parameters["args"] = [_plain(arg) for arg in args]
                if "body" in parameters:
                    parameters["body"] = _plain(parameters["body"])
                self._recorder.record(PlannedCall(self._service, operation, parameters))
                return DryRunResult()
            with translated(self._service, operation):
                return method(*args, **kwargs)
        return call


def _plain(value: Any) -> Any:
    """Turn kubernetes model objects into dicts for printing."""
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value
