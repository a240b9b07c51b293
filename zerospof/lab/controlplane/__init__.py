"""The lab's control plane: a 3-member etcd, API replicas behind a load balancer, a scheduler pair.

Modules: :mod:`.etcd_cluster` (member argv), :mod:`.etcd_http` (etcd JSON-gateway client),
:mod:`.election` (lease election), :mod:`.api_server`, :mod:`.api_lb` (HAProxy sections),
:mod:`.scheduler`, :mod:`.layout` (where it runs in the lab), :mod:`.processes` (who kills and
starts components), :mod:`.faults`, :mod:`.signals`.
"""
