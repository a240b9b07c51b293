"""What zerospof left in a Kubernetes cluster, found in the cluster itself, and restored (no ledger needed).

- Deployments and statefulsets annotated ``zerospof.io/original-replicas`` (a scaled-down GitOps
  controller, :class:`~zerospof.k8s.scale.ScaleWorkload`): scaled back to that count, annotation removed.
- Flux Kustomizations annotated ``zerospof.io/suspended`` (:class:`~zerospof.k8s.flux_suspend.FluxSuspend`):
  resumed (``spec.suspend: false``), annotation removed.

Only the namespaces given are searched (the target file's GitOps controllers' namespaces).
"""

from __future__ import annotations

from collections.abc import Iterable

from zerospof.cloud.boundary import CloudApiError
from zerospof.cloud.leftovers import Leftover
from zerospof.k8s.clients import KubeClients
from zerospof.k8s.flux_suspend import KUSTOMIZATIONS, SUSPENDED_BY
from zerospof.k8s.scale import ORIGINAL_REPLICAS, annotate_workload, api_name

__all__ = ["restore_kube_leftovers"]


def restore_kube_leftovers(kube: KubeClients, namespaces: Iterable[str]) -> list[Leftover]:
    """Restore every scaled-down workload and suspended Kustomization zerospof marked in ``namespaces``."""
    found: list[Leftover] = []
    for namespace in sorted(set(namespaces)):
        for workload_kind in ("deployment", "statefulset"):
            listed = getattr(kube.apps, f"list_namespaced_{api_name(workload_kind)}")(namespace)
            for item in listed.items:
                original = (item.metadata.annotations or {}).get(ORIGINAL_REPLICAS)
                if original is None:
                    continue
                resource = f"{kube.context}/{namespace}/{item.metadata.name}"
                action = f"scale back to {original} replicas"
                try:
                    getattr(kube.apps, f"patch_namespaced_{api_name(workload_kind)}_scale")(
                        item.metadata.name, namespace, {"spec": {"replicas": int(original)}})
                    annotate_workload(kube, workload_kind, namespace, item.metadata.name, None)
                except (CloudApiError, ValueError) as exc:
                    found.append(Leftover(workload_kind, resource, action, False, str(exc)))
                else:
                    found.append(Leftover(workload_kind, resource, action, True))
        try:
            kustomizations = kube.custom.list_namespaced_custom_object(*KUSTOMIZATIONS[:2], namespace, KUSTOMIZATIONS[2])
        except CloudApiError as exc:
            if exc.is_not_found:
                continue  # Flux is not installed on this cluster
            raise
        for item in kustomizations.get("items", []):
            if SUSPENDED_BY not in (item["metadata"].get("annotations") or {}):
                continue
            name = item["metadata"]["name"]
            try:
                kube.custom.patch_namespaced_custom_object(*KUSTOMIZATIONS[:2], namespace, KUSTOMIZATIONS[2], name, {
                    "metadata": {"annotations": {SUSPENDED_BY: None}}, "spec": {"suspend": False}})
            except CloudApiError as exc:
                found.append(Leftover("kustomization", f"{kube.context}/{namespace}/{name}", "resume", False, str(exc)))
            else:
                found.append(Leftover("kustomization", f"{kube.context}/{namespace}/{name}", "resume", True))
    return found
