"""The lab's Lease election (``zerospof.lab.kube.election``) against the real kube-apiserver: one winner among
racing candidates (the API's 409 on a stale update decides), renewal, takeover only after expiry, resignation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tests.helpers import wait_for
from tests.k8s.cluster import TestCluster
from zerospof.lab.controlplane.signals import kube_lease
from zerospof.lab.kube.api import KubeApi
from zerospof.lab.kube.election import KubeLeaseElection, lease_expired, micro_time

NAMESPACE = "lease-election-test"


@pytest.fixture
def api(cluster: TestCluster) -> KubeApi:
    cluster.ensure_namespace(NAMESPACE)
    return KubeApi.from_kubeconfig(cluster.kubeconfig)


@pytest.fixture
def elections(api: KubeApi) -> Iterator[list[KubeLeaseElection]]:
    made: list[KubeLeaseElection] = []
    yield made
    for election in made:
        election.close()


def _candidate(api: KubeApi, made: list[KubeLeaseElection], name: str, lease: str, **options: float) -> KubeLeaseElection:
    election = KubeLeaseElection(api, NAMESPACE, lease, name, **options)
    made.append(election)
    return election


def test_of_candidates_racing_for_a_vacant_lease_exactly_one_wins_and_keeps_it_by_renewing(
        api: KubeApi, elections: list[KubeLeaseElection]) -> None:
    candidates = [_candidate(api, elections, f"candidate-{index}", "race") for index in range(4)]
    results: dict[str, bool] = {}
    start = threading.Barrier(len(candidates))

    def run(election: KubeLeaseElection) -> None:
        start.wait()
        results[election.identity] = election.campaign()
    threads = [threading.Thread(target=run, args=(election,)) for election in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    winners = [name for name, won in results.items() if won]
    assert len(winners) == 1, results
    time.sleep(3.0)  # longer than the 2 s duration: only renewals keep it
    found = kube_lease(api, "race", namespace=NAMESPACE)
    assert found["held"] and found["component"] == winners[0]
    assert [election.is_leader() for election in candidates].count(True) == 1
    assert not any(election.campaign() for election in candidates if election.identity != winners[0])


def test_a_standby_takes_the_lease_only_after_the_holder_stopped_renewing_and_it_expired(
        api: KubeApi, elections: list[KubeLeaseElection]) -> None:
    holder = _candidate(api, elections, "holder", "expiry")
    standby = _candidate(api, elections, "standby", "expiry", campaign_delay_s=0.25)
    assert holder.campaign()
    holder._stop.set()  # the holder dies: no renewal, no resignation (as after SIGKILL)
    holder._thread.join(2)
    stopped = time.monotonic()
    took, _ = wait_for(lambda: standby.campaign(), 10, 0.1)
    waited = time.monotonic() - stopped
    found = kube_lease(api, "expiry", namespace=NAMESPACE)
    assert took and found["component"] == "standby" and found["transitions"] == 1
    assert waited >= 1.4, f"took over after {waited:.2f}s, before the 2 s Lease could expire"
    assert wait_for(lambda: not holder.is_leader(), 3, 0.1)[0]


def test_a_resigned_lease_is_taken_at_once_and_a_stale_update_gets_409(
        api: KubeApi, elections: list[KubeLeaseElection]) -> None:
    first = _candidate(api, elections, "first", "resign")
    second = _candidate(api, elections, "second", "resign")
    assert first.campaign() and not second.campaign()
    path = f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/resign"
    _, stale = api.call("GET", path)
    first.resign()
    assert lease_expired(api.call("GET", path)[1]["spec"])
    assert second.campaign() and second.is_leader() and not first.is_leader()
    status, _ = api.call("PUT", path, {**stale, "spec": {**stale["spec"], "renewTime": micro_time()}})
    assert status == 409  # the old holder's view is stale: the API refuses it
    assert kube_lease(api, "resign", namespace=NAMESPACE)["component"] == "second"
