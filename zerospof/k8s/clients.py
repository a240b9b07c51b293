"""Kubernetes API clients for one kube context, every API wrapped in :class:`~zerospof.aws.dry_run.ApiProxy`."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from zerospof.aws.dry_run import ApiProxy, CallRecorder
from zerospof.aws.safety import check_context_allowed
from zerospof.errors import ConfigError

__all__ = ["KubeClients"]


class KubeClients:
    """The APIs the suite uses (core, apps, coordination, custom objects) for one allowed kube context.

    Building it refuses (SafetyRefusal) a context that is not on ``allowed_contexts``. In dry run
    (``recorder`` set) reads go through and changes are recorded, not sent.
    """

    def __init__(self, context: str, allowed_contexts: list[str] | tuple[str, ...], kubeconfig: str | None = None,
                 recorder: CallRecorder | None = None) -> None:
        self.context = check_context_allowed(context, allowed_contexts)
        self.allowed_contexts = tuple(allowed_contexts)
        self.kubeconfig = kubeconfig
        self.recorder = recorder

    @classmethod
    def from_params(cls, params: dict[str, Any], recorder: CallRecorder | None = None) -> KubeClients:
        """Build from a fault's ``params['kube']`` (``context``, ``allowed_contexts``, ``kubeconfig``)."""
        kube = params["kube"]
        return cls(kube["context"], kube.get("allowed_contexts", []), kube.get("kubeconfig"), recorder)

    def dry(self, recorder: CallRecorder) -> KubeClients:
        """Return clients for the same context that record changes into ``recorder``."""
        return KubeClients(self.context, self.allowed_contexts, self.kubeconfig, recorder)

    @cached_property
    def api_client(self) -> Any:
        from kubernetes import config
        try:
            return config.new_client_from_config(config_file=self.kubeconfig, context=self.context)
        except config.ConfigException as exc:
            raise ConfigError(self.kubeconfig or "$KUBECONFIG or ~/.kube/config", "contexts", str(exc), self.context) from exc

    def _api(self, name: str) -> ApiProxy:
        from kubernetes import client
        return ApiProxy(getattr(client, name)(self.api_client), f"kubernetes/{self.context}", self.recorder)

    @cached_property
    def core(self) -> Any:
        return self._api("CoreV1Api")

    @cached_property
    def apps(self) -> Any:
        return self._api("AppsV1Api")

    @cached_property
    def coordination(self) -> Any:
        return self._api("CoordinationV1Api")

    @cached_property
    def custom(self) -> Any:
        return self._api("CustomObjectsApi")
