"""The real kubectl of the pinned release against the lab's API, through the API LB, with ``lab up``'s kubeconfig."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.helpers import wait_for
from zerospof.kube_binaries import kube_binary
from zerospof.lab import Lab
from zerospof.lab import topology as t
from zerospof.lab.controlplane import layout as cp_layout
from zerospof.lab.controlplane import probes as cp_probes

pytestmark = [pytest.mark.lab]

NAMESPACE = cp_layout.APP_NAMESPACE
DEPLOYMENT = f"deployment/{cp_layout.APP_DEPLOYMENT}"


@pytest.fixture
def kubectl(lab: Lab) -> Iterator[callable]:
    """Run ``kubectl --kubeconfig <state dir>/kubeconfig ...``; the app Deployment is available before and after."""
    config = cp_layout.admin_kubeconfig(lab.state_dir)
    assert config.exists()

    def run(*args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(kube_binary("kubectl")), f"--kubeconfig={config}", *args], capture_output=True,
                              text=True, timeout=timeout_s)
    assert wait_for(lambda: cp_probes.workloads(lab.state_dir)["ok"], 60, 0.5)[0]
    yield run
    assert wait_for(lambda: cp_probes.workloads(lab.state_dir)["ok"], 60, 0.5)[0]


def test_kubectl_gets_the_nodes_of_every_az_ready_and_the_app_pods_spread_over_them(kubectl, lab: Lab) -> None:
    nodes = kubectl("get", "nodes", "-o", "json")
    assert nodes.returncode == 0, nodes.stderr
    by_zone = {node["metadata"]["labels"]["topology.kubernetes.io/zone"]: node
               for node in json.loads(nodes.stdout)["items"]}
    assert sorted(by_zone) == sorted(zone.name for zone in t.ZONES)
    assert all(any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])
               for node in by_zone.values())
    table = kubectl("get", "pods", "-n", NAMESPACE, "-o", "wide")  # the server's Table output
    assert table.returncode == 0 and "Running" in table.stdout, table.stderr
    pods = json.loads(kubectl("get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/name=zerospof-lab-app",
                              "-o", "json").stdout)["items"]
    assert sorted(pod["spec"]["nodeName"] for pod in pods) == sorted(cp_layout.node_name(z.name) for z in t.ZONES)
    print("\n" + table.stdout)


def _app_pod_names(kubectl) -> set[str]:
    listed = kubectl("get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/name=zerospof-lab-app", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    return {pod["metadata"]["name"] for pod in json.loads(listed.stdout)["items"]}


def test_kubectl_deletes_a_pod_waits_for_its_replacement_and_sees_the_rollout_complete(kubectl) -> None:
    pods = json.loads(kubectl("get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/name=zerospof-lab-app",
                              "-o", "json").stdout)["items"]
    victim = pods[0]["metadata"]["name"]
    deleted = kubectl("delete", "pod", "-n", NAMESPACE, victim, "--wait=true", "--timeout=30s")
    assert deleted.returncode == 0, deleted.stderr
    waited = kubectl("wait", "-n", NAMESPACE, "--for=condition=Available", DEPLOYMENT, "--timeout=60s")
    assert waited.returncode == 0, waited.stderr
    ready = kubectl("wait", "-n", NAMESPACE, "--for=condition=Ready", "pod", "-l",
                    "app.kubernetes.io/name=zerospof-lab-app", "--timeout=60s")
    assert ready.returncode == 0, ready.stderr
    before = _app_pod_names(kubectl)
    restarted = kubectl("rollout", "restart", "-n", NAMESPACE, DEPLOYMENT)
    assert restarted.returncode == 0, restarted.stderr
    rollout = kubectl("rollout", "status", "-n", NAMESPACE, DEPLOYMENT, "--timeout=120s", timeout_s=150)
    assert rollout.returncode == 0, rollout.stdout + rollout.stderr
    assert "successfully rolled out" in rollout.stdout
    gone = kubectl("wait", "-n", NAMESPACE, "--for=delete", *(f"pod/{name}" for name in before), "--timeout=30s")
    assert gone.returncode == 0, gone.stderr  # the node agents finish deleting the old pods, as kubelets do
    names = _app_pod_names(kubectl)
    assert victim not in names and not names & before and len(names) == len(t.ZONES)
    print(f"\ndeleted {victim}; {rollout.stdout.strip().splitlines()[-1]}")
