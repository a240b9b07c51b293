"""PodKill deletes pods through chaostoolkit-kubernetes: exactly the chosen ones, on exactly the target's context.

Every assertion reads the real API server's state, never a mock.
"""

from __future__ import annotations

import os

import pytest
from chaoslib.exceptions import ActivityFailed
from chaosk8s.pod.actions import terminate_pods
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.config import kube_config

from tests.k8s.cluster import TestCluster
from tests.k8s.control_plane import CONTEXT, free_port
from tests.k8s.world import build_cluster, build_control_plane, lease, leader_lease, node, pod, pod_uids
from zerospof.cloud.boundary import CloudApiError
from zerospof.cloud.dry_run import CallRecorder
from zerospof.errors import FaultError
from zerospof.faults import Ledger, injected
from zerospof.k8s.pod_kill import PodKill


def test_pod_kill_with_a_limit_deletes_that_many_members_first_by_name_and_no_other_pod(cluster, kube_params, tmp_path):
    build_cluster(cluster)
    build_control_plane(cluster)
    before = pod_uids(cluster)
    fault = PodKill({"kube": kube_params, "namespace": "kube-system", "label_selector": "component=etcd", "limit": 2})
    with injected(fault, ledger=Ledger(tmp_path)):
        during = pod_uids(cluster)
        assert set(before) - set(during) == {("kube-system", "etcd-cp-0"), ("kube-system", "etcd-cp-1")}
        assert all(before[key] == uid for key, uid in during.items())  # every other pod is the same pod as before


@pytest.mark.parametrize("holder, survivors", [
    ("ctl-1", ["ctl-10", "ctl-2"]),  # a bare name: exactly that pod, not ctl-10 whose name it prefixes
    ("ctl-10_8f3c2b1a-0000-4000-8000-000000000000", ["ctl-1", "ctl-2"]),  # controller-runtime: <pod hostname>_<uuid>
])
def test_pod_kill_with_a_lease_deletes_only_the_pod_its_holder_names(cluster, kube_params, tmp_path, holder, survivors):
    for name in ("ctl-1", "ctl-10", "ctl-2"):
        cluster.add(pod(name, "ops", "node-x", {"app": "ctl"}))
    cluster.add(lease("ops", "ctl-leader", holder))
    fault = PodKill({"kube": kube_params, "namespace": "ops", "label_selector": "app=ctl",
                     "lease": {"namespace": "ops", "name": "ctl-leader"}})
    with injected(fault, ledger=Ledger(tmp_path)):
        assert sorted(name for _, name in pod_uids(cluster, "ops")) == survivors


def static_schedulers(cluster: TestCluster) -> None:
    """Static kube-scheduler pods on node-a/b/c, named as the kubelet names them: ``kube-scheduler-<node>``."""
    for host in ("node-a", "node-b", "node-c"):
        cluster.add(node(host, "us-west-2a", chaos=False))
        cluster.add(pod(f"kube-scheduler-{host}", "kube-system", host, {"component": "kube-scheduler"}))


def scheduler_kill(kube_params) -> PodKill:
    return PodKill({"kube": kube_params, "namespace": "kube-system", "label_selector": "component=kube-scheduler",
                    "limit": 1, "lease": {"namespace": "kube-system", "name": "kube-scheduler"}})


def test_pod_kill_with_a_real_scheduler_lease_deletes_only_the_pod_on_the_holders_node(cluster, kube_params, tmp_path):
    static_schedulers(cluster)
    cluster.add(leader_lease("kube-scheduler", "node-b"))  # holderIdentity node-b_1234abcd-...
    before = pod_uids(cluster, "kube-system")
    fault = scheduler_kill(kube_params)
    with injected(fault, ledger=Ledger(tmp_path)) as record:
        assert set(before) - set(pod_uids(cluster, "kube-system")) == {("kube-system", "kube-scheduler-node-b")}
        assert record.data["undo"]["holder"].startswith("node-b_")
    assert pod_uids(cluster, "kube-system") == {key: uid for key, uid in before.items()
                                                        if key != ("kube-system", "kube-scheduler-node-b")}


@pytest.mark.parametrize("holder, message", [
    ("node-z_1234abcd-5678-90ef-1234-567890abcdef", "matches none of the 3 selected pods"),
    ("kube-scheduler-node_1234abcd", "matches none of the 3 selected pods"),  # a prefix of every pod's name
    ("", "has no holder"),
])
def test_pod_kill_fails_before_deleting_anything_when_the_lease_holder_is_no_selected_pod(
        cluster, kube_params, tmp_path, holder, message):
    static_schedulers(cluster)
    cluster.add(lease("kube-system", "kube-scheduler", holder))
    before = pod_uids(cluster)
    with pytest.raises(FaultError, match=message):
        with injected(scheduler_kill(kube_params), ledger=Ledger(tmp_path)):
            pass
    assert pod_uids(cluster) == before


def test_pod_kill_refuses_a_holder_that_matches_several_selected_pods(cluster, kube_params, tmp_path):
    static_schedulers(cluster)
    cluster.add(pod("kube-scheduler-node-b-debug", "kube-system", "node-b", {"component": "kube-scheduler"}))
    cluster.add(leader_lease("kube-scheduler", "node-b"))
    before = pod_uids(cluster)
    with pytest.raises(FaultError, match=r"matches 2 selected pods \['kube-scheduler-node-b', 'kube-scheduler-node-b-debug'\]"):
        with injected(scheduler_kill(kube_params), ledger=Ledger(tmp_path)):
            pass
    assert pod_uids(cluster) == before


def test_pod_kill_fails_clearly_when_the_lease_does_not_exist(cluster, kube_params, tmp_path):
    static_schedulers(cluster)
    before = pod_uids(cluster)
    with pytest.raises(FaultError, match="Lease kube-system/kube-scheduler does not exist"):
        with injected(scheduler_kill(kube_params), ledger=Ledger(tmp_path)):
            pass
    assert pod_uids(cluster) == before


def test_chaosk8s_reaches_the_target_files_context_and_credentials_not_the_ambient_ones(
        cluster, kube, tmp_path, monkeypatch):
    build_cluster(cluster)
    # The ambient kubeconfig reaches the same API server as a user with no rights; the ambient variables name
    # a port where nothing listens and a token the server does not know. Any of them used: the kill fails.
    ambient_kubeconfig = str(cluster.control_plane.write_kubeconfig(tmp_path / "ambient-kubeconfig", "ambient", ()))
    with pytest.raises(ApiException) as forbidden:
        client.CoreV1Api(config.new_client_from_config(ambient_kubeconfig)).list_namespaced_pod("shop")
    assert forbidden.value.status == 403
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", ambient_kubeconfig)  # $KUBECONFIG at import
    ambient_environment = {"KUBECONFIG": ambient_kubeconfig, "KUBERNETES_CONTEXT": CONTEXT,
                           "KUBERNETES_HOST": f"https://127.0.0.1:{free_port()}", "KUBERNETES_API_KEY": "ambient-token"}
    for name, value in ambient_environment.items():
        monkeypatch.setenv(name, value)
    deleted = kube.run_activity(terminate_pods, label_selector="app=shop", all=True, grace_period=0, ns="shop")
    assert len(deleted) == 7 and pod_uids(cluster, "shop") == {}
    assert {name: os.environ.get(name) for name in ambient_environment} == ambient_environment  # restored


def test_a_misspelt_activity_argument_fails_even_in_a_dry_run_instead_of_being_printed(cluster, kube):
    recorder = CallRecorder()
    with pytest.raises(TypeError, match="namespace"):
        kube.dry(recorder).run_activity(terminate_pods, label_selector="app=shop", all=True, namespace="shop")
    assert recorder.calls == []


def test_a_chaosk8s_activity_failure_becomes_a_cloud_api_error(cluster, kube):
    with pytest.raises(CloudApiError, match="negative") as raised:
        kube.run_activity(terminate_pods, label_selector="app=shop", qty=-1, ns="shop")
    assert raised.value.code == "ActivityFailed" and isinstance(raised.value.__cause__, ActivityFailed)


def test_pod_kill_with_names_deletes_only_that_selected_pod(cluster, kube_params, tmp_path):
    build_control_plane(cluster)
    before = pod_uids(cluster)
    fault = PodKill({"kube": kube_params, "namespace": "kube-system", "label_selector": "component=etcd",
                     "names": ["etcd-cp-1"]})
    with injected(fault, ledger=Ledger(tmp_path)):
        during = pod_uids(cluster)
        assert set(before) - set(during) == {("kube-system", "etcd-cp-1")}
        assert all(before[key] == uid for key, uid in during.items())


def test_pod_kill_with_a_name_the_selector_does_not_select_kills_nothing(cluster, kube_params, tmp_path):
    build_control_plane(cluster)
    before = pod_uids(cluster)
    fault = PodKill({"kube": kube_params, "namespace": "kube-system", "label_selector": "component=etcd",
                     "names": ["kube-apiserver-cp-1"]})
    with pytest.raises(FaultError, match="no pod to kill"):
        with injected(fault, ledger=Ledger(tmp_path)):
            pass
    assert pod_uids(cluster) == before
