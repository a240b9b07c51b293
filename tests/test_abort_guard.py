"""The abort guard reverts a real fault when users stay unserved for longer than the limit."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from zerospof.chaos.control import _abort_guard, _Run
from zerospof.chaos.settings import ScenarioSettings
from zerospof.faults import apply
from zerospof.faults.link import LinkDown, link_is_up
from zerospof.monitors import ProbeFailed, Sampler
from zerospof.objectives import load_objectives
from zerospof.scenario import AVAILABILITY, Monitoring
from zerospof.timeline import EventKind, Timeline
from tests.helpers import needs_root, scratch_namespace

pytestmark = needs_root
DEVICE = "zsdummy0"


def guarded_run(namespace: str, tmp_path, users_served_while_down: bool) -> tuple[_Run, Sampler]:
    settings = ScenarioSettings.from_configuration({
        "zerospof_scenario": "az-failure", "zerospof_run_dir": str(tmp_path / "run"),
        "zerospof_ledger_dir": str(tmp_path / "ledger"), "zerospof_abort_floor": 0.5, "zerospof_abort_after": "1s",
    })
    timeline = Timeline()

    def users() -> None:  # the "users" of this test are served only while the link is up
        if not users_served_while_down and not link_is_up(namespace, DEVICE):
            raise ProbeFailed("link down")

    sampler = Sampler(AVAILABILITY, users, timeline, interval_s=0.05, max_duration_s=10)
    run = _Run(settings, load_objectives(Path(__file__).resolve().parents[1] / "objectives.yaml"), timeline, Monitoring([sampler], []))
    apply(LinkDown({"links": [{"namespace": namespace, "device": DEVICE}]}), settings.ledger, run_id=settings.run_id)
    return run, sampler


def test_the_guard_reverts_the_fault_when_availability_stays_below_the_floor(tmp_path):
    with scratch_namespace(DEVICE) as namespace:
        run, sampler = guarded_run(namespace, tmp_path, users_served_while_down=False)
        guard = threading.Thread(target=_abort_guard, args=(run,))
        with sampler:
            guard.start()
            guard.join(timeout=8)
        assert not guard.is_alive(), "the guard did not fire"
        assert link_is_up(namespace, DEVICE) is True
        assert not run.settings.ledger.open_records(run.settings.run_id)
        aborted = run.timeline.first_event(EventKind.ABORTED)
        assert aborted is not None and aborted.data["availability"] < 0.5


def test_the_guard_leaves_the_fault_alone_while_users_are_served(tmp_path):
    with scratch_namespace(DEVICE) as namespace:
        run, sampler = guarded_run(namespace, tmp_path, users_served_while_down=True)
        guard = threading.Thread(target=_abort_guard, args=(run,))
        with sampler:
            guard.start()
            time.sleep(2.5)
            run.guard_stop.set()
            guard.join(timeout=2)
        assert link_is_up(namespace, DEVICE) is False
        assert run.timeline.first_event(EventKind.ABORTED) is None
        assert run.settings.ledger.revert_open(run.settings.run_id)[0].reverted
