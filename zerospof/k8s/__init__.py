"""Kubernetes side of the AWS target: clients per kube context, faults and detection probes.

Depends on ``zerospof.cloud`` (errors, dry run), never on ``zerospof.aws``. The fake API server the
tests use lives in ``tests/k8s/fake_apiserver.py``.
"""
