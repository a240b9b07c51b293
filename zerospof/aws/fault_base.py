"""``AwsFault``: the base of faults that act through boto3, built from their params alone."""

from __future__ import annotations

from typing import Any

from zerospof.aws.clients import AwsClients
from zerospof.aws.safety import check_account_allowed
from zerospof.errors import SafetyRefusal
from zerospof.faults.base import Fault

__all__ = ["AwsFault"]


class AwsFault(Fault):
    """A fault in one region. params: ``region``, ``allowed_account_ids``, optional ``endpoint_url``.

    Clients are built from params, so a fault rebuilt from a ledger record reaches the same
    endpoint; :meth:`use_clients` swaps in other clients (a dry-run recorder).
    """

    def __init__(self, params: dict[str, Any] | None = None, undo: dict[str, Any] | None = None) -> None:
        super().__init__(params, undo)
        self._clients: AwsClients | None = None
        self._account: str | None = None

    def use_clients(self, clients: AwsClients) -> AwsFault:
        """Act through ``clients`` (e.g. dry-run clients) and return self."""
        self._clients = clients
        return self

    @property
    def clients(self) -> AwsClients:
        if self._clients is None:
            self._clients = AwsClients(self.params.get("endpoint_url"))
        return self._clients

    @property
    def region(self) -> str:
        return str(self.params["region"])

    def client(self, service: str) -> Any:
        """Return the proxied boto3 client for ``service`` in this fault's region."""
        return self.clients.client(service, self.region)

    def check_account(self) -> str:
        """Refuse (SafetyRefusal) unless the caller's account is on ``params['allowed_account_ids']``."""
        self._account = check_account_allowed(self.client("sts"), self.params.get("allowed_account_ids", []))
        return self._account

    def identity(self) -> dict[str, Any]:
        """The account this fault acts in (checked against the allow-list)."""
        return {"aws_account": self._account or self.check_account()}

    def check_revert_allowed(self, recorded: dict[str, Any]) -> None:
        """Refuse unless the caller's account is on the record's allow-list and is the account the record was made in."""
        account = self.check_account()
        if "aws_account" not in recorded:
            raise SafetyRefusal("the record names no AWS account (tampered, or written by an older zerospof): "
                                "refusing to revert it; check it and revert by hand")
        if recorded["aws_account"] != account:
            raise SafetyRefusal(f"the record was made in AWS account {recorded.get('aws_account')!r}, the caller is in "
                                f"{account}: refusing to revert it from here")
