"""Kubernetes API clients for one kube context, every API wrapped in :class:`~zerospof.cloud.dry_run.ApiProxy`.

chaostoolkit-kubernetes activities run against the same context through :meth:`KubeClients.run_activity`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from zerospof.cloud.dry_run import ApiProxy, CallRecorder
from zerospof.cloud.extensions import call_activity
from zerospof.errors import ConfigError, SafetyRefusal

__all__ = ["KubeClients", "check_context_allowed"]

# What chaosk8s's create_k8s_api_client reads from the environment besides KUBECONFIG (secrets are looked up first,
# but an auth variable in the environment picks the auth method, and CHAOSTOOLKIT_IN_POD the in-cluster config).
_CHAOSK8S_VARIABLES = ("CHAOSTOOLKIT_IN_POD", "KUBERNETES_CONTEXT", "KUBERNETES_HOST", "KUBERNETES_API_KEY",
                       "KUBERNETES_API_KEY_PREFIX", "KUBERNETES_USERNAME", "KUBERNETES_PASSWORD", "KUBERNETES_CERT_FILE",
                       "KUBERNETES_KEY_FILE", "KUBERNETES_VERIFY_SSL", "KUBERNETES_CA_CERT_FILE", "KUBERNETES_DEBUG")
_NO_KUBECONFIG = os.path.join(os.devnull, "kubeconfig")  # never exists: the null device is not a directory


def check_context_allowed(context: str, allowed_contexts: Iterable[str]) -> str:
    """Return ``context``; refuse a kube context not on the allow-list."""
    allowed = list(allowed_contexts)
    if context not in allowed:
        raise SafetyRefusal(f"kube context {context!r} is not in the target's allowed_contexts {allowed}; refusing to act")
    return context


class KubeClients:
    """The APIs the suite uses (core, apps, policy, coordination, custom objects) for one allowed kube context.

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

    def _chaosk8s_access(self) -> tuple[dict[str, Any], dict[str, str | None]]:
        """Return ``(secrets, environment)`` with which chaosk8s reaches exactly this context.

        The context is resolved here, as for the suite's own clients (kubeconfig, exec credential
        plugins, client certificates), into chaosk8s's secrets: ``KUBERNETES_HOST``, the token
        (``KUBERNETES_API_KEY`` and its prefix) or client certificate, the CA and TLS verification.
        chaosk8s prefers any kubeconfig file it finds (``$KUBECONFIG`` or ``~/.kube/config``, with
        the kubernetes client's default file and context) and ``KUBERNETES_*`` variables; the
        environment returned points ``KUBECONFIG`` at a path that cannot exist and unsets those
        variables, so that only the secrets count.
        """
        configuration = self.api_client.configuration
        secrets: dict[str, Any] = {"KUBERNETES_HOST": configuration.host,
                                   "KUBERNETES_VERIFY_SSL": bool(configuration.verify_ssl),
                                   "KUBERNETES_CA_CERT_FILE": configuration.ssl_ca_cert}
        token = configuration.get_api_key_with_prefix("BearerToken", alias="authorization")  # refreshes exec tokens
        if token:
            prefix, _, key = token.rpartition(" ")  # "Bearer <token>", "Basic <credentials>"
            secrets.update(KUBERNETES_API_KEY=key, KUBERNETES_API_KEY_PREFIX=prefix)
        elif configuration.cert_file:
            secrets.update(KUBERNETES_CERT_FILE=configuration.cert_file, KUBERNETES_KEY_FILE=configuration.key_file)
        environment: dict[str, str | None] = {name: None for name in _CHAOSK8S_VARIABLES}
        environment["KUBECONFIG"] = _NO_KUBECONFIG
        return secrets, environment

    def run_activity(self, activity: Callable[..., Any], **arguments: Any) -> Any:
        """Run a chaostoolkit-kubernetes activity against this context; in dry run an action is recorded, not run."""
        secrets, environment = self._chaosk8s_access()
        return call_activity(f"kubernetes/{self.context}", activity, {**arguments, "secrets": secrets},
                             self.recorder, environment)

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
    def policy(self) -> Any:
        return self._api("PolicyV1Api")

    @cached_property
    def coordination(self) -> Any:
        return self._api("CoordinationV1Api")

    @cached_property
    def custom(self) -> Any:
        return self._api("CustomObjectsApi")
