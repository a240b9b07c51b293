"""AWS FIS behind an interface: what moto cannot simulate (the fault's *effects*) is tested as a contract.

:class:`ExperimentEngine` is the interface; :class:`Boto3Fis` talks to AWS FIS;
:class:`FakeFis` is the test double. :class:`FisExperiment` is the fault that runs a FIS
experiment template (e.g. "AZ Availability: Power Interruption", a cross-region template).
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any, Protocol

from zerospof.aws.fault_base import AwsFault
from zerospof.errors import FaultError, FaultNotInEffect

__all__ = ["ACTIVE_STATES", "Boto3Fis", "ExperimentEngine", "FakeFis", "FisExperiment"]

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


class Boto3Fis:
    """:class:`ExperimentEngine` on AWS FIS through a (proxied) boto3 ``fis`` client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, template_id: str, tags: dict[str, str]) -> str:
        from zerospof.aws.boundary import CloudApiError
        try:
            response = self.client.start_experiment(experimentTemplateId=template_id, clientToken=uuid.uuid4().hex, tags=tags)
        except CloudApiError as exc:
            raise FaultError(f"FIS template {template_id}: {exc}") from exc
        return str(response["experiment"]["id"])

    def state(self, experiment_id: str) -> str:
        return str(self.client.get_experiment(id=experiment_id)["experiment"]["state"]["status"])

    def find(self, tags: dict[str, str]) -> list[str]:
        found, token = [], None
        while True:
            page = self.client.list_experiments(**({"nextToken": token} if token else {}))
            for item in page.get("experiments", []):
                if item["state"]["status"] in ACTIVE_STATES and all(item.get("tags", {}).get(k) == v for k, v in tags.items()):
                    found.append(item["id"])
            token = page.get("nextToken")
            if not token:
                return found

    def stop(self, experiment_id: str) -> None:
        if self.state(experiment_id) in ACTIVE_STATES:
            self.client.stop_experiment(id=experiment_id)


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
        return [i for i, e in self.experiments.items()
                if e["state"] in ACTIVE_STATES and all(e["tags"].get(k) == v for k, v in tags.items())]

    def stop(self, experiment_id: str) -> None:
        if self.experiments[experiment_id]["state"] in ACTIVE_STATES:
            self.experiments[experiment_id]["state"] = "stopped"


class FisExperiment(AwsFault):
    """Run the FIS experiment template ``template_id``; revert stops it (found by its marker tag).

    params: ``region``, ``template_id``, ``allowed_account_ids``, optional ``endpoint_url``.
    The experiment is tagged with a marker recorded in ``undo`` before it starts, so a run killed
    before the id is saved is still stopped by revert. Idempotent.
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
        if self._engine is None:
            self._engine = Boto3Fis(self.client("fis"))
        return self._engine

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
        for experiment_id in sorted(set(self.engine.find(self._tags())) | set(self.undo.get("experiment_ids", []))):
            self.engine.stop(experiment_id)
