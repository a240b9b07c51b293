"""The AWS + EKS target: target file, faults, safety guards, dry run, probes, and its scenario driver.

Entry points: :func:`zerospof.aws.target.load_aws_target` (validate a target file),
:class:`zerospof.aws.driver.AwsDriver` (what ``driver_for`` returns for a ``kind: aws`` target file:
scenarios run through the experiments ``experiments/aws/*.yaml`` like on every target) and
:func:`zerospof.aws.run.print_dry_run` (what ``zerospof run --target <file> --dry-run`` calls).
Imports go one way: ``zerospof.cloud`` <- ``zerospof.k8s`` <- ``zerospof.aws``.
"""
