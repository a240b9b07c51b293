"""The app replica's revision source (``zerospof.lab.app.RevisionSource``) against the real kube-apiserver, as the
app's own identity under the lab's RBAC (``zerospof.lab.kube.workload.rbac``)."""

from __future__ import annotations

from pathlib import Path

from tests.k8s.cluster import TestCluster
from zerospof.lab.app import App, RevisionSource
from zerospof.lab.controlplane.layout import APP_USER
from zerospof.lab.gitops.reconciler import CONFIGMAP
from zerospof.lab.kube.api import KubeApi
from zerospof.lab.kube.workload import rbac

NAMESPACE = "revision-source-test"


def _setup(cluster: TestCluster, tmp_path: Path) -> tuple[KubeApi, KubeApi]:
    cluster.ensure_namespace(NAMESPACE)
    admin = KubeApi.from_kubeconfig(cluster.kubeconfig)
    for path, body in rbac(NAMESPACE):
        assert admin.call("POST", path, body)[0] == 201
    own = cluster.control_plane.write_kubeconfig(tmp_path / "app.kubeconfig", user=APP_USER, groups=())
    return admin, KubeApi.from_kubeconfig(own)


def test_the_replica_serves_the_configmaps_revision_keeps_it_through_bad_objects_and_reads_nothing_else(
        cluster: TestCluster, tmp_path: Path) -> None:
    admin, as_app = _setup(cluster, tmp_path)
    app = App("r1-a", ["127.0.0.1"], 1, 1)
    source = RevisionSource(app, as_app, NAMESPACE, CONFIGMAP)
    assert not source.read_once() and "404" in str(source.last_error)  # nothing applied yet: keeps "none"
    assert app.deployed()["revision"] == "none"
    collection = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
    status, created = admin.call("POST", collection, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": CONFIGMAP}, "data": {"revision": "v7", "commit": "c7", "applied_by": "gitops-primary"}})
    assert status == 201
    assert source.read_once()
    assert {key: app.deployed()[key] for key in ("revision", "commit", "applied_by")} == {
        "revision": "v7", "commit": "c7", "applied_by": "gitops-primary"}
    status, _ = admin.call("PUT", f"{collection}/{CONFIGMAP}", {**created, "data": {"revision": ""}})
    assert status == 200
    assert not source.read_once() and "invalid ConfigMap" in str(source.last_error)
    assert app.deployed()["revision"] == "v7"  # an invalid object is not served
    assert as_app.call("GET", f"{collection}/other")[0] == 403  # its RBAC names the one ConfigMap
    assert as_app.call("PUT", f"{collection}/{CONFIGMAP}", created)[0] == 403  # and only reads it
    unreachable = KubeApi(["https://127.0.0.1:1"], Path(cluster.control_plane.pki["ca"]),
                          Path(cluster.control_plane.pki["admin"]), Path(cluster.control_plane.pki["admin_key"]))
    assert not RevisionSource(app, unreachable, NAMESPACE, CONFIGMAP).read_once()
    assert app.deployed()["revision"] == "v7"  # the API gone: the replica keeps serving
