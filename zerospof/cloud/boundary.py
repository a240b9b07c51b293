"""The one place where botocore, kubernetes and Chaos Toolkit extension errors become zerospof errors.

Every AWS or Kubernetes API call the suite makes, and every chaosaws / chaosk8s activity it
runs, runs inside :func:`translated`, so callers only ever see :class:`CloudApiError` (a
:class:`~zerospof.errors.FaultError`) with the service, operation and error code kept as
attributes, chained ``from`` the original. An extension's ``ActivityFailed`` keeps the code of
the API error it was raised while handling.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from zerospof.errors import FaultError

__all__ = ["ACCESS_CODES", "CloudApiError", "translated"]

# Error codes that mean the runner itself cannot act on the target (credentials, permissions,
# endpoint): a harness or target error that waiting does not fix, never a platform failure.
ACCESS_CODES = frozenset({
    "NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "ProfileNotFound",
    "NoRegionError", "EndpointConnectionError", "ConnectTimeoutError", "SSLError", "TokenRetrievalError",
    "SSOTokenLoadError", "UnauthorizedSSOTokenError", "ExpiredToken", "ExpiredTokenException",
    "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "AuthFailure",
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "401", "403",
})


class CloudApiError(FaultError):
    """An AWS or Kubernetes API call failed; ``code`` is the API's own error code or HTTP status."""

    def __init__(self, service: str, operation: str, code: str, message: str) -> None:
        self.service = service
        self.operation = operation
        self.code = code
        super().__init__(f"{service} {operation} failed: {code}: {message}")

    @property
    def is_not_found(self) -> bool:
        """Return True when the call failed because the object does not exist."""
        return self.code == "404" or "NotFound" in self.code

    @property
    def is_access_problem(self) -> bool:
        """Return True when the runner lacks credentials or permission, or cannot reach the API at all."""
        return self.code in ACCESS_CODES


def _botocore_types() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError
    return ClientError, BotoCoreError


def _kubernetes_types() -> tuple[type[BaseException], ...]:
    try:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError
    except ImportError:  # pragma: no cover - kubernetes is a declared dependency
        return ()
    return ApiException, HTTPError


def _activity_failed_type() -> type[BaseException]:
    from chaoslib.exceptions import ActivityFailed
    return ActivityFailed


def _translate(service: str, operation: str, exc: BaseException) -> CloudApiError:
    from botocore.exceptions import ClientError
    if isinstance(exc, _activity_failed_type()):
        origin = exc.__cause__ or exc.__context__  # chaosaws raises ActivityFailed inside `except`, without `from`
        if isinstance(origin, _botocore_types() + _kubernetes_types()):
            return _translate(service, operation, origin)
        return CloudApiError(service, operation, type(exc).__name__, str(exc))
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return CloudApiError(service, operation, str(error.get("Code", "Unknown")), str(error.get("Message", exc)))
    status = getattr(exc, "status", None)
    if status is not None:
        return CloudApiError(service, operation, str(status), str(getattr(exc, "reason", "") or exc))
    return CloudApiError(service, operation, type(exc).__name__, str(exc))


@contextlib.contextmanager
def translated(service: str, operation: str) -> Iterator[None]:
    """Run an API call or extension activity, re-raising botocore/kubernetes/``ActivityFailed`` errors as :class:`CloudApiError`."""
    try:
        yield
    except _botocore_types() + _kubernetes_types() + (_activity_failed_type(),) as exc:
        raise _translate(service, operation, exc) from exc
