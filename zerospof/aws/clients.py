"""Build AWS clients for the suite: one factory, every client wrapped in :class:`~zerospof.cloud.dry_run.ApiProxy`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from zerospof.cloud.dry_run import ApiProxy, CallRecorder

__all__ = ["AwsClients", "paged"]


class AwsClients:
    """Make boto3 clients per (service, region), cached; in dry run, changes are recorded, not sent.

    ``endpoint_url`` points every client at one endpoint (a moto server on 127.0.0.1 in tests);
    leave it None for real AWS.
    """

    def __init__(self, endpoint_url: str | None = None, recorder: CallRecorder | None = None,
                 session: Any = None) -> None:
        self.endpoint_url = endpoint_url
        self.recorder = recorder
        self._session = session
        self._cache: dict[tuple[str, str], ApiProxy] = {}

    @property
    def dry_run(self) -> bool:
        """True when changes are recorded instead of made."""
        return self.recorder is not None

    def client(self, service: str, region: str) -> Any:
        """Return the (proxied) boto3 client for ``service`` in ``region``."""
        key = (service, region)
        if key not in self._cache:
            import boto3
            session = self._session or boto3._get_default_session()  # one model cache per process
            raw = session.client(service, region_name=region, endpoint_url=self.endpoint_url)
            self._cache[key] = ApiProxy(raw, service, self.recorder)
        return self._cache[key]

    def dry(self, recorder: CallRecorder) -> AwsClients:
        """Return clients for the same endpoint that record changes into ``recorder``."""
        return AwsClients(self.endpoint_url, recorder, self._session)


def paged(client: Any, method: str, result_key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Yield every item of a ``NextToken``-paginated AWS list call, through the proxy."""
    token: str | None = None
    while True:
        page = getattr(client, method)(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(result_key, [])
        token = page.get("NextToken")
        if not token:
            return
