"""Run Chaos Toolkit extension activities (chaostoolkit-aws, chaostoolkit-kubernetes) inside the suite's guarantees.

:func:`call_activity` is to an extension activity what :class:`~zerospof.cloud.dry_run.ApiProxy` is
to a client call: the arguments are bound to the activity's signature before anything runs (as
chaoslib does), errors become :class:`~zerospof.cloud.boundary.CloudApiError`, and in dry run an
action is recorded as a :class:`~zerospof.cloud.dry_run.PlannedCall` and not run, while a probe
(it only reads) runs.

The extensions build their clients from the process environment as well as from their
``configuration`` / ``secrets``; :func:`pinned_environment` sets the variables they read for
the duration of one call, so the call reaches what the target file names and nothing ambient.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from zerospof.cloud.boundary import translated
from zerospof.cloud.dry_run import CallRecorder, DryRunResult, PlannedCall

__all__ = ["call_activity", "is_probe", "pinned_environment"]

_ENVIRONMENT_LOCK = threading.RLock()


def _apply(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextlib.contextmanager
def pinned_environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) ``values`` in the process environment for the block, then restore them.

    The environment is shared by every thread, so pinned blocks run one at a time.
    """
    with _ENVIRONMENT_LOCK:
        saved = {name: os.environ.get(name) for name in values}
        try:
            _apply(values)
            yield
        finally:
            _apply(saved)


def is_probe(activity: Callable[..., Any]) -> bool:
    """Return True for an extension probe (a function of a ``...probes`` module): it only reads."""
    return activity.__module__.rsplit(".", 1)[-1] == "probes"


def call_activity(service: str, activity: Callable[..., Any], arguments: dict[str, Any],
                  recorder: CallRecorder | None = None, environment: Mapping[str, str | None] | None = None) -> Any:
    """Run ``activity(**arguments)`` with ``environment`` pinned; in dry run record an action instead.

    A recorded action returns a :class:`~zerospof.cloud.dry_run.DryRunResult` (ids read as
    ``dry-run-<key>``). ``secrets`` are never recorded: they hold tokens.
    """
    inspect.signature(activity).bind(**arguments)  # a misspelt argument fails before anything runs
    operation = f"{activity.__module__}.{activity.__name__}"
    if recorder is not None and not is_probe(activity):
        shown = {name: value for name, value in arguments.items() if name != "secrets"}
        recorder.record(PlannedCall(service, operation, shown))
        return DryRunResult()
    with pinned_environment(environment or {}), translated(service, operation):
        return activity(**arguments)
