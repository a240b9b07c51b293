"""Zone drain, GitOps controller scale-down, pod kill and Flux suspend against the real API server."""

from __future__ import annotations

import pytest

from tests.k8s.control_plane import CONTEXT
from tests.k8s.world import CHAOS_LABEL, ZONES, build_cluster, pod_uids
from zerospof.errors import FaultError, SafetyRefusal
from zerospof.faults import Ledger, injected
from zerospof.k8s.clients import KubeClients
from zerospof.k8s.flux_suspend import FluxSuspend
from zerospof.k8s.pod_kill import PodKill
from zerospof.k8s.scale import ScaleWorkload
from zerospof.k8s.zone_drain import ZoneDrain

CONTROLLER = ("statefulsets", "argocd", "argocd-application-controller")


def schedulable(cluster, name):
    return not cluster.get("nodes", "", name)["spec"].get("unschedulable")


def pods_on(cluster, node_name):
    """The pods bound to ``node_name`` and not being deleted (an evicted pod may still be terminating)."""
    return [p["metadata"]["name"] for p in cluster.objects("pods")
            if p["spec"].get("nodeName") == node_name and not p["metadata"].get("deletionTimestamp")]


def test_zone_drain_cordons_and_empties_only_the_zones_selected_nodes_then_uncordons(cluster, kube_params, tmp_path):
    build_cluster(cluster)
    cluster.patch("nodes", "", "node-a1", {"spec": {"unschedulable": True}})  # node-a1 starts cordoned by someone else
    fault = ZoneDrain({"kube": kube_params, "zone": ZONES[0], "node_label_selector": CHAOS_LABEL})
    with injected(fault, ledger=Ledger(tmp_path)):
        assert not schedulable(cluster, "node-a0") and not schedulable(cluster, "node-a1")
        assert schedulable(cluster, "node-a-untagged") and schedulable(cluster, "node-b0")
        assert pods_on(cluster, "node-a0") == ["agent-a0"]  # the DaemonSet pod stays, the app pod was evicted
        assert cluster.get("pods", "shop", "app-untagged") is not None
        assert cluster.get("pods", "shop", "app-b0") is not None
    assert schedulable(cluster, "node-a0")
    assert not schedulable(cluster, "node-a1")  # was cordoned before: left as found


def test_zone_drain_is_reverted_from_its_ledger_record_alone(cluster, kube_params, tmp_path):
    build_cluster(cluster)
    ledger = Ledger(tmp_path)
    fault = ZoneDrain({"kube": kube_params, "zone": ZONES[1], "node_label_selector": CHAOS_LABEL})
    ledger.open(fault)
    fault.inject()
    assert not schedulable(cluster, "node-b0")
    assert [r.reverted for r in ledger.revert_open()] == [True]
    assert schedulable(cluster, "node-b0") and schedulable(cluster, "node-b1")
    ledger.revert_open()  # nothing open: idempotent


def test_a_zone_with_no_selected_node_is_refused(cluster, kube_params, tmp_path):
    build_cluster(cluster)
    fault = ZoneDrain({"kube": kube_params, "zone": "us-west-2d", "node_label_selector": CHAOS_LABEL})
    with pytest.raises(FaultError, match="nothing to drain"):
        with injected(fault, ledger=Ledger(tmp_path)):
            pass


def test_argocd_controller_scaled_to_zero_comes_back_to_its_replicas(cluster, kube_params, tmp_path):
    build_cluster(cluster)
    fault = ScaleWorkload({"kube": kube_params, "workload_kind": "statefulset", "namespace": "argocd",
                           "name": "argocd-application-controller", "replicas": 0})
    with injected(fault, ledger=Ledger(tmp_path)):
        assert cluster.get(*CONTROLLER)["spec"]["replicas"] == 0
        assert pod_uids(cluster, "argocd") == {}  # verified: the StatefulSet controller deleted its pod
    assert cluster.get(*CONTROLLER)["spec"]["replicas"] == 1
    cluster.wait_ready(*CONTROLLER)
    assert [p["metadata"]["name"] for p in cluster.objects("pods", "argocd")] == ["argocd-application-controller-0"]
    fault.revert()
    assert cluster.get(*CONTROLLER)["spec"]["replicas"] == 1


def test_pod_kill_of_the_lease_holder_replaces_only_that_pod(cluster, kube_params, tmp_path):
    build_cluster(cluster)
    before = cluster.get("pods", "argocd", "argocd-application-controller-0")["metadata"]["uid"]
    cluster.add({"kind": "Lease", "metadata": {"name": "argocd-leader", "namespace": "argocd"},
                 "spec": {"holderIdentity": "argocd-application-controller-0"}})
    fault = PodKill({"kube": kube_params, "namespace": "argocd",
                     "label_selector": "app.kubernetes.io/name=argocd-application-controller",
                     "lease": {"namespace": "argocd", "name": "argocd-leader"}})
    with injected(fault, ledger=Ledger(tmp_path)):
        replaced = cluster.wait_for(lambda: cluster.get("pods", "argocd", "argocd-application-controller-0"),
                                    "the StatefulSet's new pod")
        assert replaced["metadata"]["uid"] != before  # the statefulset brought a new pod back


def test_flux_suspend_suspends_and_restores_each_kustomizations_own_setting(cluster, kube_params, tmp_path):
    for name, suspended in (("apps", False), ("infra", True)):
        cluster.add({"kind": "Kustomization", "metadata": {"name": name, "namespace": "flux-system"},
                     "spec": {"suspend": suspended, "interval": "1m"}})
    fault = FluxSuspend({"kube": kube_params, "namespace": "flux-system"})
    with injected(fault, ledger=Ledger(tmp_path)):
        assert all(k["spec"]["suspend"] for k in cluster.objects("kustomizations", "flux-system"))
    assert {k["metadata"]["name"]: k["spec"]["suspend"] for k in cluster.objects("kustomizations", "flux-system")} == \
        {"apps": False, "infra": True}


def test_a_kube_context_not_on_the_allow_list_is_refused_before_any_call(cluster, kubeconfig):
    build_cluster(cluster)
    with pytest.raises(SafetyRefusal, match="not in the target's allowed_contexts"):
        KubeClients(CONTEXT, ["staging-usw2"], kubeconfig)
    fault = ZoneDrain({"kube": {"context": CONTEXT, "allowed_contexts": ["prod"], "kubeconfig": kubeconfig},
                       "zone": ZONES[0], "node_label_selector": CHAOS_LABEL})
    with pytest.raises(SafetyRefusal):
        fault.prepare()
    assert all(schedulable(cluster, n["metadata"]["name"]) for n in cluster.objects("nodes"))


def test_a_zone_drain_is_in_effect_while_its_evicted_pods_are_still_terminating(cluster, kube_params, tmp_path):
    build_cluster(cluster)
    cluster.kubelet.paused.set()  # no kubelet finishes the deletions: the pods keep their grace period's 30 s
    fault = ZoneDrain({"kube": kube_params, "zone": ZONES[0], "node_label_selector": CHAOS_LABEL})
    with injected(fault, ledger=Ledger(tmp_path), verify_timeout_s=5.0) as record:
        assert sorted(record.data["undo"]["evicted"]) == ["shop/app-a0", "shop/app-a1"]
        assert cluster.get("pods", "shop", "app-a0")["metadata"]["deletionTimestamp"]  # evicted, terminating
    assert schedulable(cluster, "node-a0")
