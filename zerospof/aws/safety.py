"""Safety guards: the account allow-list and self-lockout protection (the kube-context allow-list: ``zerospof.k8s.clients``).

Each guard raises :class:`~zerospof.errors.SafetyRefusal` before anything changes.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterable
from typing import Any

from zerospof.errors import SafetyRefusal

__all__ = ["check_account_allowed", "check_no_self_lockout", "discover_runner_subnet_ids"]

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


def discover_runner_subnet_ids(timeout_s: float = 1.0) -> list[str]:
    """Return the subnets of this machine's network interfaces when it is an EC2 instance, else [].

    Asks the instance metadata service (IMDSv2). Skipped when ``AWS_EC2_METADATA_DISABLED=true``.
    """
    if os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
        return []
    try:
        token_request = urllib.request.Request(f"{_IMDS}/latest/api/token", method="PUT",
                                               headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        with urllib.request.urlopen(token_request, timeout=timeout_s) as response:  # noqa: S310 - fixed IMDS URL
            token = response.read().decode()
        headers = {"X-aws-ec2-metadata-token": token}
        base = f"{_IMDS}/latest/meta-data/network/interfaces/macs/"
        with urllib.request.urlopen(urllib.request.Request(base, headers=headers), timeout=timeout_s) as response:  # noqa: S310
            macs = [line.strip("/") for line in response.read().decode().split() if line.strip()]
        subnets = []
        for mac in macs:
            request = urllib.request.Request(f"{base}{mac}/subnet-id", headers=headers)
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
                subnets.append(response.read().decode().strip())
        return subnets
    except OSError:
        return []
