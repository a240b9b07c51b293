"""The fake API server answers the real kubernetes client like a real one would, for what the suite uses."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from kubernetes.client import V1Eviction, V1ObjectMeta

from tests.k8s.world import build_cluster, node, workload
from zerospof.cloud.boundary import CloudApiError
from tests.k8s.fake_apiserver import FakeKubeApiServer, matches_label_selector


@pytest.mark.parametrize("selector, expected", [
    ("a=1", True), ("a==1", True), ("a!=1", False), ("a in (1,2)", True), ("a notin (1,2)", False),
    ("b", False), ("!b", True), ("a=1,c=3", True), ("a=1,c=4", False), ("c notin (9)", True), ("", True),
])
def test_label_selectors_follow_kubernetes_semantics(selector, expected):
    assert matches_label_selector({"a": "1", "c": "3"}, selector) is expected


def test_the_docstring_says_it_is_a_fake():
    assert "FAKE" in (FakeKubeApiServer.__doc__ or "")


def test_a_request_without_the_kubeconfigs_token_is_unauthorized(fake_apiserver):
    with urllib.request.urlopen(f"{fake_apiserver.url}/version", timeout=5) as response:
        assert json.load(response)["gitVersion"].endswith("-fake")  # /version is open, as on most clusters
    wrong = urllib.request.Request(f"{fake_apiserver.url}/api/v1/nodes", headers={"Authorization": "Bearer other-token"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(wrong, timeout=5)
    assert raised.value.code == 401


def test_lists_filter_by_label_and_field_selectors(fake_apiserver, kube):
    build_cluster(fake_apiserver)
    zone_a = kube.core.list_node(label_selector="topology.kubernetes.io/zone=us-west-2a,zerospof/chaos=allowed").items
    assert sorted(n.metadata.name for n in zone_a) == ["node-a0", "node-a1"]
    on_node = kube.core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-b1").items
    assert sorted(p.metadata.name for p in on_node) == ["agent-b1", "app-b1"]


def test_missing_objects_raise_a_translated_not_found(fake_apiserver, kube):
    with pytest.raises(CloudApiError) as raised:
        kube.core.read_node("no-such-node")
    assert raised.value.is_not_found and raised.value.__cause__ is not None


def test_node_patch_eviction_and_scale_change_state(fake_apiserver, kube):
    fake_apiserver.add(node("n1", "us-west-2a"))
    kube.core.patch_node("n1", {"spec": {"unschedulable": True}})
    assert fake_apiserver.get("nodes", "", "n1")["spec"]["unschedulable"] is True
    fake_apiserver.add(workload("Deployment", "shop", "web", 2, {"app": "web"}))
    assert len(fake_apiserver.objects("pods", "shop")) == 2
    victim = fake_apiserver.objects("pods", "shop")[0]["metadata"]
    kube.core.create_namespaced_pod_eviction(victim["name"], "shop",
                                             V1Eviction(metadata=V1ObjectMeta(name=victim["name"], namespace="shop")))
    pods = fake_apiserver.objects("pods", "shop")
    assert len(pods) == 2 and victim["uid"] not in {p["metadata"]["uid"] for p in pods}
    kube.apps.patch_namespaced_deployment_scale("web", "shop", {"spec": {"replicas": 0}})
    assert fake_apiserver.objects("pods", "shop") == []
    assert kube.apps.read_namespaced_deployment_scale("web", "shop").status.replicas == 0
