"""What the suite relies on from the real API server (``tests/k8s/fixtures.py``), checked on it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.helpers import sigkill_when_ready, wait_for
from tests.k8s.world import CHAOS_LABEL, ZONES, build_cluster, lease, node, pod, take_lease
from zerospof.cloud.boundary import CloudApiError
from zerospof.errors import SetupError
from zerospof.faults import Ledger, injected
from zerospof.k8s.zone_drain import ZoneDrain
from zerospof.kube_binaries import KUBE_COMMANDS, kube_binary, kube_version


def test_a_lease_takeover_from_a_stale_read_is_refused_with_409_and_the_holder_stays(cluster):
    coordination = client.CoordinationV1Api(cluster.api_client)
    cluster.add(lease("kube-system", "controller", "active-0_1a2b"))
    stale = coordination.read_namespaced_lease("controller", "kube-system")
    take_lease(coordination, "kube-system", "controller", "standby-1_3c4d")  # the first candidate wins
    stale.spec.holder_identity = "standby-2_5e6f"  # the second writes from what it read before
    with pytest.raises(ApiException) as conflict:
        coordination.replace_namespaced_lease("controller", "kube-system", stale)
    assert conflict.value.status == 409
    after = coordination.read_namespaced_lease("controller", "kube-system").spec
    assert (after.holder_identity, after.lease_transitions) == ("standby-1_3c4d", 1)


def test_missing_objects_raise_a_translated_not_found(cluster, kube):
    with pytest.raises(CloudApiError) as raised:
        kube.core.read_node("no-such-node")
    assert raised.value.is_not_found and raised.value.__cause__ is not None


def test_an_invalid_label_selector_is_refused_not_answered_with_an_empty_list(cluster, kube):
    with pytest.raises(CloudApiError) as raised:
        kube.core.list_node(label_selector="zone in (a")
    assert raised.value.code == "400"


def test_a_pod_in_a_namespace_that_does_not_exist_is_refused(cluster, kube):
    with pytest.raises(CloudApiError) as raised:
        kube.core.create_namespaced_pod("no-such-namespace", pod("p", "no-such-namespace", "node-x"))
    assert raised.value.is_not_found


def test_a_zone_drain_leaves_a_pod_its_disruption_budget_protects_and_reports_it(cluster, kube_params, tmp_path):
    build_cluster(cluster)
    cluster.add({"kind": "PodDisruptionBudget", "metadata": {"name": "shop", "namespace": "shop"},
                 "spec": {"minAvailable": 7, "selector": {"matchLabels": {"app": "shop"}}}})
    cluster.wait_for(lambda: (cluster.get("poddisruptionbudgets", "shop", "shop").get("status") or {}).get(
        "currentHealthy") == 7, "the disruption controller counting the 7 ready shop pods")
    fault = ZoneDrain({"kube": kube_params, "zone": ZONES[0], "node_label_selector": CHAOS_LABEL})
    with injected(fault, ledger=Ledger(tmp_path)) as record:
        assert sorted(record.data["undo"]["eviction_blocked"]) == ["shop/app-a0", "shop/app-a1"]  # 429 from the API
        assert record.data["undo"]["evicted"] == []
        assert cluster.get("pods", "shop", "app-a0") is not None


def test_node_status_given_at_creation_is_kept_without_a_kubelet_or_node_lifecycle_controller(cluster):
    cluster.add(node("n-down", "us-west-2a", ready=False))
    [condition] = cluster.get("nodes", "", "n-down")["status"]["conditions"]
    assert (condition["type"], condition["status"]) == ("Ready", "False")


def test_without_the_binaries_bin_setup_builds_the_error_names_bin_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("ZEROSPOF_KUBE_CACHE", str(tmp_path))
    for command in KUBE_COMMANDS:
        with pytest.raises(SetupError, match=rf"{command} of Kubernetes {kube_version()} is not built: run bin/setup"):
            kube_binary(command)


CHILD = textwrap.dedent('''
    import json, sys, time
    from pathlib import Path
    from tests.k8s.control_plane import KubeControlPlane

    directory, ready = Path(sys.argv[1]), Path(sys.argv[2])
    control_plane = KubeControlPlane(directory).start()
    ready.write_text(json.dumps([process.pid for process in control_plane.processes.values()]))
    time.sleep(120)
''')


def test_no_component_outlives_a_test_process_killed_with_sigkill(tmp_path):
    script, ready = tmp_path / "start_and_stall.py", tmp_path / "ready"
    script.write_text(CHILD)
    (tmp_path / "plane").mkdir()
    sigkill_when_ready([sys.executable, str(script), str(tmp_path / "plane"), str(ready)], ready, timeout_s=90)
    pids = json.loads(ready.read_text())
    try:
        assert len(pids) == 4  # etcd, kube-apiserver, kube-controller-manager, kube-scheduler
        gone, _ = wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), 10)
        assert gone, f"still running after the test process died: {[p for p in pids if Path(f'/proc/{p}').exists()]}"
    finally:
        for pid in pids:  # when the check failed: do not leave them running (only these, checked by command line)
            with contextlib.suppress(OSError):
                if str(tmp_path) in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                    os.kill(pid, signal.SIGKILL)
