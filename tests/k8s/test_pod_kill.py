"""PodKill deletes pods through chaostoolkit-kubernetes: exactly the chosen ones, on exactly the target's context.

Every assertion reads the fake API server's state (``FakeKubeApiServer``, a fake), never a mock.
"""

from __future__ import annotations

import os

import pytest
from chaoslib.exceptions import ActivityFailed
from chaosk8s.pod.actions import terminate_pods
from kubernetes.config import kube_config

from tests.k8s.conftest import CONTEXT
from tests.k8s.world import build_cluster, build_control_plane, lease, leader_lease, node, pod, pod_uids
from zerospof.cloud.boundary import CloudApiError
from zerospof.cloud.dry_run import CallRecorder
from zerospof.errors import FaultError
from zerospof.faults import Ledger, injected
from tests.k8s.fake_apiserver import FakeKubeApiServer
from zerospof.k8s.pod_kill import PodKill


def test_pod_kill_with_a_limit_deletes_that_many_members_first_by_name_and_no_other_pod(fake_apiserver, kube_params, tmp_path):
    build_cluster(fake_apiserver)
    build_control_plane(fake_apiserver)
    before = pod_uids(fake_apiserver)
    fault = PodKill({"kube": kube_params, "namespace": "kube-system", "label_selector": "component=etcd", "limit": 2})
    with injected(fault, ledger=Ledger(tmp_path)):
        during = pod_uids(fake_apiserver)
        assert set(before) - set(during) == {("kube-system", "etcd-cp-0"), ("kube-system", "etcd-cp-1")}
        assert all(before[key] == uid for key, uid in during.items())  # every other pod is the same pod as before


@pytest.mark.parametrize("holder, survivors", [
    ("ctl-1", ["ctl-10", "ctl-2"]),  # a bare name: exactly that pod, not ctl-10 whose name it prefixes
    ("ctl-10_8f3c2b1a-0000-4000-8000-000000000000", ["ctl-1", "ctl-2"]),  # controller-runtime: <pod hostname>_<uuid>
])
def test_pod_kill_with_a_lease_deletes_only_the_pod_its_holder_names(fake_apiserver, kube_params, tmp_path, holder, survivors):
    for name in ("ctl-1", "ctl-10", "ctl-2"):
        fake_apiserver.add(pod(name, "ops", "node-x", {"app": "ctl"}))
    fake_apiserver.add(lease("ops", "ctl-leader", holder))
    fault = PodKill({"kube": kube_params, "namespace": "ops", "label_selector": "app=ctl",
                     "lease": {"namespace": "ops", "name": "ctl-leader"}})
    with injected(fault, ledger=Ledger(tmp_path)):
        assert sorted(name for _, name in pod_uids(fake_apiserver, "ops")) == survivors


def static_schedulers(fake: FakeKubeApiServer) -> None:
    """Static kube-scheduler pods on node-a/b/c, named as the kubelet names them: ``kube-scheduler-<node>``."""
    for host in ("node-a", "node-b", "node-c"):
        fake.add(node(host, "us-west-2a", chaos=False))
        fake.add(pod(f"kube-scheduler-{host}", "kube-system", host, {"component": "kube-scheduler"}))


def scheduler_kill(kube_params) -> PodKill:
    return PodKill({"kube": kube_params, "namespace": "kube-system", "label_selector": "component=kube-scheduler",
                    "limit": 1, "lease": {"namespace": "kube-system", "name": "kube-scheduler"}})


def test_pod_kill_with_a_real_scheduler_lease_deletes_only_the_pod_on_the_holders_node(fake_apiserver, kube_params, tmp_path):
    static_schedulers(fake_apiserver)
    fake_apiserver.add(leader_lease("kube-scheduler", "node-b"))  # holderIdentity node-b_1234abcd-...
    before = pod_uids(fake_apiserver, "kube-system")
    fault = scheduler_kill(kube_params)
    with injected(fault, ledger=Ledger(tmp_path)) as record:
        assert set(before) - set(pod_uids(fake_apiserver, "kube-system")) == {("kube-system", "kube-scheduler-node-b")}
        assert record.data["undo"]["holder"].startswith("node-b_")
    assert pod_uids(fake_apiserver, "kube-system") == {key: uid for key, uid in before.items()
                                                        if key != ("kube-system", "kube-scheduler-node-b")}


@pytest.mark.parametrize("holder, message", [
    ("node-z_1234abcd-5678-90ef-1234-567890abcdef", "matches none of the 3 selected pods"),
    ("kube-scheduler-node_1234abcd", "matches none of the 3 selected pods"),  # a prefix of every pod's name
    ("", "has no holder"),
])
def test_pod_kill_fails_before_deleting_anything_when_the_lease_holder_is_no_selected_pod(
        fake_apiserver, kube_params, tmp_path, holder, message):
    static_schedulers(fake_apiserver)
    fake_apiserver.add(lease("kube-system", "kube-scheduler", holder))
    before = pod_uids(fake_apiserver)
    with pytest.raises(FaultError, match=message):
        with injected(scheduler_kill(kube_params), ledger=Ledger(tmp_path)):
            pass
    assert pod_uids(fake_apiserver) == before


def test_pod_kill_refuses_a_holder_that_matches_several_selected_pods(fake_apiserver, kube_params, tmp_path):
    static_schedulers(fake_apiserver)
    fake_apiserver.add(pod("kube-scheduler-node-b-debug", "kube-system", "node-b", {"component": "kube-scheduler"}))
    fake_apiserver.add(leader_lease("kube-scheduler", "node-b"))
    before = pod_uids(fake_apiserver)
    with pytest.raises(FaultError, match=r"matches 2 selected pods \['kube-scheduler-node-b', 'kube-scheduler-node-b-debug'\]"):
        with injected(scheduler_kill(kube_params), ledger=Ledger(tmp_path)):
            pass
    assert pod_uids(fake_apiserver) == before


def test_pod_kill_fails_clearly_when_the_lease_does_not_exist(fake_apiserver, kube_params, tmp_path):
    static_schedulers(fake_apiserver)
    before = pod_uids(fake_apiserver)
    with pytest.raises(FaultError, match="Lease kube-system/kube-scheduler does not exist"):
        with injected(scheduler_kill(kube_params), ledger=Ledger(tmp_path)):
            pass
    assert pod_uids(fake_apiserver) == before


def test_chaosk8s_reaches_the_target_files_context_and_credentials_not_the_ambient_ones(
        fake_apiserver, kube, tmp_path, monkeypatch):
    build_cluster(fake_apiserver)
    with FakeKubeApiServer(token="ambient-token") as ambient:
        build_cluster(ambient)
        ambient_before = pod_uids(ambient)
        ambient_kubeconfig = str(ambient.write_kubeconfig(tmp_path / "ambient-kubeconfig", CONTEXT))
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", ambient_kubeconfig)  # $KUBECONFIG at import
        ambient_environment = {"KUBECONFIG": ambient_kubeconfig, "KUBERNETES_CONTEXT": CONTEXT,
                               "KUBERNETES_HOST": ambient.url, "KUBERNETES_API_KEY": "ambient-token"}
        for name, value in ambient_environment.items():
            monkeypatch.setenv(name, value)
        deleted = kube.run_activity(terminate_pods, label_selector="app=shop", all=True, grace_period=0, ns="shop")
        assert len(deleted) == 7 and fake_apiserver.objects("pods", "shop") == []
        assert pod_uids(ambient) == ambient_before
        assert {name: os.environ.get(name) for name in ambient_environment} == ambient_environment  # restored


def test_a_misspelt_activity_argument_fails_even_in_a_dry_run_instead_of_being_printed(fake_apiserver, kube):
    recorder = CallRecorder()
    with pytest.raises(TypeError, match="namespace"):
        kube.dry(recorder).run_activity(terminate_pods, label_selector="app=shop", all=True, namespace="shop")
    assert recorder.calls == []


def test_a_chaosk8s_activity_failure_becomes_a_cloud_api_error(fake_apiserver, kube):
    with pytest.raises(CloudApiError, match="negative") as raised:
        kube.run_activity(terminate_pods, label_selector="app=shop", qty=-1, ns="shop")
    assert raised.value.code == "ActivityFailed" and isinstance(raised.value.__cause__, ActivityFailed)


def test_pod_kill_with_names_deletes_only_that_selected_pod(fake_apiserver, kube_params, tmp_path):
    build_control_plane(fake_apiserver)
    before = pod_uids(fake_apiserver)
    fault = PodKill({"kube": kube_params, "namespace": "kube-system", "label_selector": "component=etcd",
                     "names": ["etcd-cp-1"]})
    with injected(fault, ledger=Ledger(tmp_path)):
        during = pod_uids(fake_apiserver)
        assert set(before) - set(during) == {("kube-system", "etcd-cp-1")}
        assert all(before[key] == uid for key, uid in during.items())


def test_pod_kill_with_a_name_the_selector_does_not_select_kills_nothing(fake_apiserver, kube_params, tmp_path):
    build_control_plane(fake_apiserver)
    before = pod_uids(fake_apiserver)
    fault = PodKill({"kube": kube_params, "namespace": "kube-system", "label_selector": "component=etcd",
                     "names": ["kube-apiserver-cp-1"]})
    with pytest.raises(FaultError, match="no pod to kill"):
        with injected(fault, ledger=Ledger(tmp_path)):
            pass
    assert pod_uids(fake_apiserver) == before
