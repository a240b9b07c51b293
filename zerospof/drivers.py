"""Find the scenario driver of a target: ``lab`` (built in) or a target file (``kind: aws``)."""

from __future__ import annotations

from zerospof.scenario import Driver
from zerospof.targets import LabTarget, resolve_target

__all__ = ["driver_for"]


def driver_for(target: str) -> Driver:
    """Return the driver for ``target`` (``"lab"`` or the path of a target file), validating it first."""
    resolved = resolve_target(target)
    if isinstance(resolved, LabTarget):
        from zerospof.lab.driver import LabDriver
        return LabDriver()
    from zerospof.aws.driver import AwsDriver
    return AwsDriver(resolved)
