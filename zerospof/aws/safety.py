"""Safety guards: the account allow-list and self-lockout protection (the kube-context allow-list: ``zerospof.k8s.clients``).

Each guard raises :class:`~zerospof.errors.SafetyRefusal` before anything changes.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from zerospof.errors import SafetyRefusal

__all__ = ["check_account_allowed", "check_no_self_lockout", "discover_runner_subnet_ids", "runner_subnets"]

_IMDS = "http://169.254.169.254"


def check_account_allowed(sts: Any, allowed_account_ids: Iterable[str]) -> str:
    """Return the caller's account id (STS GetCallerIdentity); refuse one not on the allow-list."""
    allowed = list(allowed_account_ids)
    account = str(sts.get_caller_identity()["Account"])
    if account not in allowed:
        raise SafetyRefusal(f"AWS account {account} is not in the target's allowed_account_ids {allowed}; refusing to act")
    return account


def check_no_self_lockout(subnet_ids: Iterable[str], runner_subnet_ids: Iterable[str], allowed: bool) -> None:
    """Refuse to blackhole a subnet the runner itself uses (it could not revert), unless ``allowed``."""
    overlap = sorted(set(subnet_ids) & set(runner_subnet_ids))
    if overlap and not allowed:
        raise SafetyRefusal(
            f"refusing to blackhole subnets the runner itself uses {overlap}: the runner would lose its path "
            "to AWS and could not revert; run from elsewhere, or set safety.allow_runner_blackhole: true")


def runner_subnets(named: Iterable[str], discover: bool, allow_runner_blackhole: bool,
                   discovered: Callable[[], list[str]] | None = None) -> list[str]:
    """Return the subnets the runner uses: ``named`` (the target file's) plus, when ``discover``, this instance's.

    Fails closed: when discovery is asked for but cannot tell (not on EC2, metadata refused or disabled),
    refuse (SafetyRefusal) unless the target file names the runner's subnets or accepts a blackhole of them.
    """
    named = list(named)
    if not discover:
        return sorted(set(named))
    try:
        found = (discovered or discover_runner_subnet_ids)()
    except SafetyRefusal as exc:
        if named or allow_runner_blackhole:
            return sorted(set(named))
        raise SafetyRefusal(
            f"{exc}; the self-lockout guard cannot tell which subnets the runner uses, so it refuses: name them in "
            "safety.runner.subnet_ids, or set safety.runner.discover: false when the runner is outside the target's "
            "VPCs") from exc
    return sorted(set(named) | set(found))


def discover_runner_subnet_ids(timeout_s: float = 1.0, imds_url: str = _IMDS) -> list[str]:
    """Return the subnets of this machine's network interfaces, from the EC2 instance metadata service (IMDSv2).

    Raise SafetyRefusal when it cannot tell: ``AWS_EC2_METADATA_DISABLED=true``, no metadata service (not
    on EC2), or the token or an answer refused.
    """
    if os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
        raise SafetyRefusal("the EC2 metadata service is disabled (AWS_EC2_METADATA_DISABLED=true)")
    try:
        token_request = urllib.request.Request(f"{imds_url}/latest/api/token", method="PUT",
                                               headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        with urllib.request.urlopen(token_request, timeout=timeout_s) as response:  # noqa: S310 - fixed IMDS URL
            token = response.read().decode()
        headers = {"X-aws-ec2-metadata-token": token}
        base = f"{imds_url}/latest/meta-data/network/interfaces/macs/"
        with urllib.request.urlopen(urllib.request.Request(base, headers=headers), timeout=timeout_s) as response:  # noqa: S310
            macs = [line.strip("/") for line in response.read().decode().split() if line.strip()]
        subnets = []
        for mac in macs:
            request = urllib.request.Request(f"{base}{mac}/subnet-id", headers=headers)
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
                subnets.append(response.read().decode().strip())
    except (OSError, ValueError) as exc:  # URLError, HTTPError (token refused), timeouts
        raise SafetyRefusal(f"the EC2 metadata service did not tell the runner's subnets: {exc}") from exc
    if not subnets:
        raise SafetyRefusal("the EC2 metadata service listed no network interface")
    return subnets
