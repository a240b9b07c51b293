"""Kubernetes side of the AWS target: clients per kube context, faults and detection probes.

Depends on ``zerospof.cloud`` (errors, dry run), never on ``zerospof.aws``. Tested against a real
kube-apiserver (``tests/k8s/fixtures.py``).
"""
