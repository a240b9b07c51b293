"""The AWS-only action of ``experiments/aws/region-failure.yaml`` (see ``zerospof.aws.chaos``)."""

from zerospof.aws.chaos import run_dr_action

__all__ = ["run_dr_action"]
