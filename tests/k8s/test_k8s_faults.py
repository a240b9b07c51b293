"""Zone drain, GitOps controller scale-down, pod kill and Flux suspend against the fake API server."""

from __future__ import annotations

import pytest

from tests.k8s.world import CHAOS_LABEL, ZONES, build_cluster
from zerospof.errors import FaultError, SafetyRefusal
from zerospof.faults import Ledger, injected
from zerospof.k8s.clients import KubeClients
from zerospof.k8s.flux_suspend import FluxSuspend
from zerospof.k8s.pod_kill import PodKill
from zerospof.k8s.scale import ScaleWorkload
from zerospof.k8s.zone_drain import ZoneDrain


def schedulable(fake, name):
    return not fake.get("nodes", "", name)["spec"].get("unschedulable")


def test_zone_drain_cordons_and_empties_only_the_zones_selected_nodes_then_uncordons(fake_apiserver, kube_params, tmp_path):
    build_cluster(fake_apiserver)
    fake_apiserver.get("nodes", "", "node-a1")  # node-a1 starts cordoned by someone else:
    fake_apiserver.handle("PATCH", "/api/v1/nodes/node-a1", {}, {"spec": {"unschedulable": True}}, "application/merge-patch+json")
    fault = ZoneDrain({"kube": kube_params, "zone": ZONES[0], "node_label_selector": CHAOS_LABEL})
    with injected(fault, ledger=Ledger(tmp_path)):
        assert not schedulable(fake_apiserver, "node-a0") and not schedulable(fake_apiserver, "node-a1")
        assert schedulable(fake_apiserver, "node-a-untagged") and schedulable(fake_apiserver, "node-b0")
        on_a0 = [p["metadata"]["name"] for p in fake_apiserver.objects("pods") if p["spec"].get("nodeName") == "node-a0"]
        assert on_a0 == ["agent-a0"]  # the DaemonSet pod stays, the app pod was evicted
        assert fake_apiserver.get("pods", "shop", "app-untagged") is not None
        assert fake_apiserver.get("pods", "shop", "app-b0") is not None
    assert schedulable(fake_apiserver, "node-a0")
    assert not schedulable(fake_apiserver, "node-a1")  # was cordoned before: left as found


def test_zone_drain_is_reverted_from_its_ledger_record_alone(fake_apiserver, kube_params, tmp_path):
    build_cluster(fake_apiserver)
    ledger = Ledger(tmp_path)
    fault = ZoneDrain({"kube": kube_params, "zone": ZONES[1], "node_label_selector": CHAOS_LABEL})
    ledger.open(fault)
    fault.inject()
    assert not schedulable(fake_apiserver, "node-b0")
    assert [r.reverted for r in ledger.revert_open()] == [True]
    assert schedulable(fake_apiserver, "node-b0") and schedulable(fake_apiserver, "node-b1")
    ledger.revert_open()  # nothing open: idempotent


def test_a_zone_with_no_selected_node_is_refused(fake_apiserver, kube_params, tmp_path):
    build_cluster(fake_apiserver)
    fault = ZoneDrain({"kube": kube_params, "zone": "us-west-2d", "node_label_selector": CHAOS_LABEL})
    with pytest.raises(FaultError, match="nothing to drain"):
        with injected(fault, ledger=Ledger(tmp_path)):
            pass


def test_argocd_controller_scaled_to_zero_comes_back_to_its_replicas(fake_apiserver, kube_params, tmp_path):
    build_cluster(fake_apiserver)
    fault = ScaleWorkload({"kube": kube_params, "workload_kind": "statefulset", "namespace": "argocd",
                           "name": "argocd-application-controller", "replicas": 0})
    with injected(fault, ledger=Ledger(tmp_path)):
        assert fake_apiserver.get("statefulsets", "argocd", "argocd-application-controller")["spec"]["replicas"] == 0
        assert fake_apiserver.objects("pods", "argocd") == []
    assert fake_apiserver.get("statefulsets", "argocd", "argocd-application-controller")["spec"]["replicas"] == 1
    assert [p["metadata"]["name"] for p in fake_apiserver.objects("pods", "argocd")] == ["argocd-application-controller-0"]
    fault.revert()
    assert fake_apiserver.get("statefulsets", "argocd", "argocd-application-controller")["spec"]["replicas"] == 1


def test_pod_kill_of_the_lease_holder_replaces_only_that_pod(fake_apiserver, kube_params, tmp_path):
    build_cluster(fake_apiserver)
    before = fake_apiserver.get("pods", "argocd", "argocd-application-controller-0")["metadata"]["uid"]
    fake_apiserver.add({"kind": "Lease", "metadata": {"name": "argocd-leader", "namespace": "argocd"},
                        "spec": {"holderIdentity": "argocd-application-controller-0"}})
    fault = PodKill({"kube": kube_params, "namespace": "argocd",
                     "label_selector": "app.kubernetes.io/name=argocd-application-controller",
                     "lease": {"namespace": "argocd", "name": "argocd-leader"}})
    with injected(fault, ledger=Ledger(tmp_path)):
        after = fake_apiserver.get("pods", "argocd", "argocd-application-controller-0")["metadata"]["uid"]
        assert after != before  # the statefulset brought a new pod back


def test_flux_suspend_suspends_and_restores_each_kustomizations_own_setting(fake_apiserver, kube_params, tmp_path):
    for name, suspended in (("apps", False), ("infra", True)):
        fake_apiserver.add({"kind": "Kustomization", "metadata": {"name": name, "namespace": "flux-system"},
                            "spec": {"suspend": suspended, "interval": "1m"}})
    fault = FluxSuspend({"kube": kube_params, "namespace": "flux-system"})
    with injected(fault, ledger=Ledger(tmp_path)):
        assert all(k["spec"]["suspend"] for k in fake_apiserver.objects("kustomizations"))
    assert {k["metadata"]["name"]: k["spec"]["suspend"] for k in fake_apiserver.objects("kustomizations")} == \
        {"apps": False, "infra": True}


def test_a_kube_context_not_on_the_allow_list_is_refused_before_any_call(fake_apiserver, kubeconfig):
    build_cluster(fake_apiserver)
    with pytest.raises(SafetyRefusal, match="not in the target's allowed_contexts"):
        KubeClients("fake", ["staging-usw2"], kubeconfig)
    fault = ZoneDrain({"kube": {"context": "fake", "allowed_contexts": ["prod"], "kubeconfig": kubeconfig},
                       "zone": ZONES[0], "node_label_selector": CHAOS_LABEL})
    with pytest.raises(SafetyRefusal):
        fault.prepare()
    assert all(schedulable(fake_apiserver, n["metadata"]["name"]) for n in fake_apiserver.objects("nodes"))
