"""Before any fault the measurement control waits (bounded) for a healthy target in its reference state."""

from __future__ import annotations

import time

import pytest

from zerospof.chaos.control import wait_ready
from zerospof.errors import LabError, SafetyRefusal, TargetDown, TargetError


class ScriptedDriverFake:
    """A fake driver (test double) whose readiness follows a script: one entry per check."""

    def __init__(self, script: list[object]) -> None:
        self.script = script
        self.checks = 0

    def _next(self) -> object:
        self.checks += 1
        return self.script[min(self.checks - 1, len(self.script) - 1)]

    def check_ready(self) -> None:
        step = self._next()
        if isinstance(step, Exception):
            raise step

    def restore(self) -> bool:
        return True

    def healthy(self) -> bool:
        return True


def test_a_target_still_healing_is_waited_for_and_must_be_ready_twice_in_a_row():
    driver = ScriptedDriverFake([LabError("pg-r2-a replica starting"), None, LabError("flapped"), None, None])
    started = time.monotonic()
    wait_ready(driver, timeout_s=10)
    assert driver.checks == 5
    assert time.monotonic() - started >= 2.0  # two 0.5 s waits after failures, two 1 s waits between successes


@pytest.mark.parametrize("error", [TargetDown("the lab is not running"), SafetyRefusal("account not allowed")])
def test_a_target_that_is_not_there_or_not_allowed_fails_at_once(error):
    driver = ScriptedDriverFake([error])
    started = time.monotonic()
    with pytest.raises(type(error)):
        wait_ready(driver, timeout_s=30)
    assert driver.checks == 1 and time.monotonic() - started < 1


def test_a_target_that_never_heals_fails_after_the_timeout_naming_what_is_sick():
    driver = ScriptedDriverFake([LabError("lab components not healthy: pg-r2-a")])
    started = time.monotonic()
    with pytest.raises(LabError, match="pg-r2-a"):
        wait_ready(driver, timeout_s=1.2)
    assert 1.2 <= time.monotonic() - started < 3


def test_a_healthy_target_that_never_reaches_its_reference_state_fails_after_the_timeout():
    driver = ScriptedDriverFake([None])
    driver.restore = lambda: False
    with pytest.raises(TargetError, match="reference state after 1s"):
        wait_ready(driver, timeout_s=1)
