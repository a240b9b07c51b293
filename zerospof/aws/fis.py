"""AWS FIS behind an interface: what moto cannot simulate (the fault's *effects*) is tested as a contract.

:class:`ExperimentEngine` is the interface; :class:`ChaosAwsFis` runs FIS experiments through
chaostoolkit-aws; :class:`FakeFis` is the test double. :class:`FisExperiment` is the fault that
runs a FIS experiment template (e.g. "AZ Availability: Power Interruption", a cross-region template).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from chaosaws import aws_client
from chaosaws.fis.actions import start_experiment, stop_experiment
from chaosaws.fis.probes import get_experiment

from zerospof.cloud.boundary import translated
from zerospof.cloud.dry_run import CallRecorder
from zerospof.cloud.extensions import call_activity, pinned_environment
from zerospof.aws.fault_base import AwsFault
from zerospof.errors import FaultError, FaultNotInEffect

__all__ = ["ACTIVE_STATES", "ChaosAwsFis", "ExperimentEngine", "FakeFis", "FisExperiment"]

ACTIVE_STATES = frozenset({"pending", "initiating", "running"})
MARKER_TAG = "zerospof:fault"


class ExperimentEngine(Protocol):
    """Start, inspect and stop fault experiments from templates.

    Contract: ``start`` returns a new experiment id whose state is active (pending / initiating /
    running); ``find(tags)`` returns the ids of active experiments carrying all ``tags``; ``stop``
    makes the experiment inactive (stopping / stopped) and is idempotent; an unknown template fails
    with FaultError.
    """

    def start(self, template_id: str, tags: dict[str, str]) -> str: ...
    def state(self, experiment_id: str) -> str: ...
    def find(self, tags: dict[str, str]) -> list[str]: ...
    def stop(self, experiment_id: str) -> None: ...


class ChaosAwsFis:
    """:class:`ExperimentEngine` on AWS FIS through chaostoolkit-aws, in ``region``.

    ``start`` / ``stop`` are ``chaosaws.fis.actions.start_experiment`` / ``stop_experiment``,
    ``state`` is ``chaosaws.fis.probes.get_experiment``, each given ``configuration =
    {"aws_region": region}``; ``find`` pages ``ListExperiments`` on a client from
    ``chaosaws.aws_client`` (chaosaws has no listing probe). Credentials come from the process's
    default boto3 session, the one the suite's own clients use. chaosaws takes no endpoint, so an
    ``endpoint_url`` (a moto server in tests) reaches botocore as ``AWS_ENDPOINT_URL_FIS``, pinned
    for each call. With ``recorder`` (dry run) start and stop are recorded, not run.
    """

    def __init__(self, region: str, endpoint_url: str | None = None, recorder: CallRecorder | None = None) -> None:
        self.configuration = {"aws_region": region}
        self.recorder = recorder
        self.environment: dict[str, str | None] = (
            {"AWS_ENDPOINT_URL_FIS": endpoint_url, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": None} if endpoint_url else {})

    def _run(self, activity: Callable[..., Any], **arguments: Any) -> Any:
        return call_activity("fis", activity, {**arguments, "configuration": self.configuration},
                             self.recorder, self.environment)

    def start(self, template_id: str, tags: dict[str, str]) -> str:
        response = self._run(start_experiment, experiment_template_id=template_id,
                             client_token=uuid.uuid4().hex, tags=dict(tags))
        return str(response["experiment"]["id"])

    def state(self, experiment_id: str) -> str:
        return str(self._run(get_experiment, experiment_id=experiment_id)["experiment"]["state"]["status"])

    def find(self, tags: dict[str, str]) -> list[str]:
        found: list[str] = []
        token: str | None = None
        with pinned_environment(self.environment), translated("fis", "ListExperiments"):
            client = aws_client("fis", configuration=self.configuration)
            while True:
                page = client.list_experiments(**({"nextToken": token} if token else {}))
                found += [item["id"] for item in page.get("experiments", [])
                          if item["state"]["status"] in ACTIVE_STATES and _carries(item.get("tags", {}), tags)]
                token = page.get("nextToken")
                if not token:
                    return found

    def stop(self, experiment_id: str) -> None:
        if self.state(experiment_id) in ACTIVE_STATES:
            self._run(stop_experiment, experiment_id=experiment_id)


def _carries(tags: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(tags.get(key) == value for key, value in wanted.items())


class FakeFis:
    """A FAKE :class:`ExperimentEngine` in memory: experiments run until stopped; no effects happen."""

    def __init__(self, templates: set[str] | None = None) -> None:
        self.templates = set(templates or set())
        self.experiments: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def start(self, template_id: str, tags: dict[str, str]) -> str:
        if template_id not in self.templates:
            raise FaultError(f"FIS template {template_id}: not found")
        experiment_id = f"EXP{next(self._ids):06d}"
        self.experiments[experiment_id] = {"template": template_id, "tags": dict(tags), "state": "running"}
        return experiment_id

    def state(self, experiment_id: str) -> str:
        return str(self.experiments[experiment_id]["state"])

    def find(self, tags: dict[str, str]) -> list[str]:
        return [i for i, e in self.experiments.items() if e["state"] in ACTIVE_STATES and _carries(e["tags"], tags)]

    def stop(self, experiment_id: str) -> None:
        if self.experiments[experiment_id]["state"] in ACTIVE_STATES:
            self.experiments[experiment_id]["state"] = "stopped"


class FisExperiment(AwsFault):
    """Run the FIS experiment template ``template_id``; revert stops it (found by its marker tag).

    params: ``region``, ``template_id``, ``allowed_account_ids``, optional ``endpoint_url``.
    The experiment is tagged with a marker recorded in ``undo`` before it starts, so a run killed
    before the id is saved is still stopped by revert. Experiments run through
    :class:`ChaosAwsFis` unless :meth:`use_engine` says otherwise; in dry run (clients with a
    recorder) its start is recorded, not run. Idempotent.
    """

    kind = "fis-experiment"

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        super().__init__(params, undo)
        self._engine: ExperimentEngine | None = None

    def use_engine(self, engine: ExperimentEngine) -> FisExperiment:
        """Run experiments through ``engine`` (a FakeFis in tests) and return self."""
        self._engine = engine
        return self

    @property
    def engine(self) -> ExperimentEngine:
        """The engine set by :meth:`use_engine`, else chaostoolkit-aws with this fault's (dry-run) clients."""
        if self._engine is not None:
            return self._engine
        return ChaosAwsFis(self.region, self.clients.endpoint_url, self.clients.recorder)

    def describe(self) -> str:
        return f"{self.kind}(region={self.params.get('region')}, template={self.params.get('template_id')})"

    def _tags(self) -> dict[str, str]:
        return {MARKER_TAG: self.undo["marker"]}

    def prepare(self) -> None:
        self.check_account()
        self.undo = {"marker": uuid.uuid4().hex, "experiment_ids": []}

    def inject(self) -> None:
        experiment_id = self.engine.start(self.params["template_id"], self._tags())
        self.undo["experiment_ids"].append(experiment_id)
        self.checkpoint()

    def verify(self) -> None:
        if not self.engine.find(self._tags()):
            raise FaultNotInEffect(f"no active FIS experiment for {self.describe()}")

    def revert(self) -> None:
        if not self.undo.get("marker"):
            return
        engine = self.engine
        for experiment_id in sorted(set(engine.find(self._tags())) | set(self.undo.get("experiment_ids", []))):
            if experiment_id.startswith("dry-run-"):
                continue  # a placeholder from a dry run's recorded start: nothing was started
            engine.stop(experiment_id)
