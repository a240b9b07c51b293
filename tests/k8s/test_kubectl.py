"""The real ``kubectl`` that ``bin/setup`` builds works against the real API server: get, delete, wait, rollout status."""

from __future__ import annotations

import subprocess

from tests.k8s.world import node, pod_uids, workload
from zerospof.kube_binaries import kube_binary

TIMEOUT_S = 60


def kubectl(cluster, *arguments: str) -> str:
    """Run the built kubectl with the test kubeconfig; return its output; fail with its output when it fails."""
    __tracebackhide__ = True
    done = subprocess.run([str(kube_binary("kubectl")), "--kubeconfig", str(cluster.kubeconfig), *arguments],
                          capture_output=True, text=True, timeout=TIMEOUT_S + 10)
    assert done.returncode == 0, f"kubectl {' '.join(arguments)} exited {done.returncode}: {done.stderr or done.stdout}"
    return done.stdout


def test_kubectl_gets_deletes_waits_and_follows_a_rollout(cluster):
    for index, zone in enumerate(("us-west-2a", "us-west-2b")):
        cluster.add(node(f"node-{index}", zone))
    cluster.add(workload("Deployment", "shop", "web", 2, {"app": "web"}))

    table = kubectl(cluster, "get", "pods", "-n", "shop", "-l", "app=web")  # the server's Table output
    assert table.split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert table.count("Running") == 2 and table.count("1/1") == 2
    assert "web" in kubectl(cluster, "get", "deployments", "--all-namespaces", "-o", "name")

    victim = sorted(name for _, name in pod_uids(cluster, "shop"))[0]
    kubectl(cluster, "delete", "pod", victim, "-n", "shop", f"--timeout={TIMEOUT_S}s")  # waits until it is gone
    assert ("shop", victim) not in pod_uids(cluster, "shop")
    kubectl(cluster, "wait", "deployment/web", "-n", "shop", "--for=condition=Available", f"--timeout={TIMEOUT_S}s")
    kubectl(cluster, "wait", "deployment/web", "-n", "shop", "--for=jsonpath={.status.readyReplicas}=2",
            f"--timeout={TIMEOUT_S}s")

    old = [f"pod/{name}" for _, name in pod_uids(cluster, "shop")]
    kubectl(cluster, "set", "image", "deployment/web", "-n", "shop", "main=web:2")
    rolled = kubectl(cluster, "rollout", "status", "deployment/web", "-n", "shop", f"--timeout={TIMEOUT_S}s")
    assert 'deployment "web" successfully rolled out' in rolled
    kubectl(cluster, "wait", *old, "-n", "shop", "--for=delete", f"--timeout={TIMEOUT_S}s")
    images = kubectl(cluster, "get", "pods", "-n", "shop", "-l", "app=web",
                     "-o", "jsonpath={.items[*].spec.containers[0].image}").split()
    assert images == ["web:2", "web:2"]
