"""The lab's control plane: real Kubernetes on a 3-member etcd, behind the API load balancer.

Modules: :mod:`.etcd_cluster` (member argv), :mod:`.etcd_http` (etcd JSON-gateway client),
:mod:`.api_lb` (HAProxy sections), :mod:`.layout` (where it runs in the lab: kube-apiservers, kube-scheduler and
kube-controller-manager pairs, node agents), :mod:`.processes` (who kills and starts components), :mod:`.faults`,
:mod:`.signals`, :mod:`.probes`.
"""
