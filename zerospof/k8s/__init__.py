"""Kubernetes side of the AWS target: clients per kube context, faults, detection probes, a fake API server for tests."""
