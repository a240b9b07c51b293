"""Real Kubernetes in the lab: its PKI and kubeconfigs (:mod:`.pki`), a small API client (:mod:`.api`) and the
node agent that stands in for the kubelet (:mod:`.node_agent`)."""
