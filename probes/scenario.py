"""Probes and actions shared by every scenario and target (see ``zerospof.chaos.actions``)."""

from zerospof.chaos.actions import (
    app_is_served,
    commit_canary,
    inject_fault,
    read_back_canary,
    revert_faults,
    target_is_ready,
    wait_for_recovery,
    wait_until_healthy,
)

__all__ = [
    "app_is_served",
    "commit_canary",
    "inject_fault",
    "read_back_canary",
    "revert_faults",
    "target_is_ready",
    "wait_for_recovery",
    "wait_until_healthy",
]
