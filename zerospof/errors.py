"""The project's errors: one root, a few bases, one place to read them from."""

from __future__ import annotations

__all__ = [
    "ZerospofError",
    "ConfigError",
    "FaultError",
    "FaultNotInEffect",
    "LabError",
    "SafetyRefusal",
    "TargetError",
    "TargetDown",
]


class ZerospofError(Exception):
    """Root of every error zerospof raises on purpose."""


class ConfigError(ZerospofError):
    """A configuration file (objectives, target, experiment) is malformed."""

    def __init__(self, path: str, key: str, message: str, value: object = None) -> None:
        self.path = str(path)
        self.key = key
        self.value = value
        self.detail = message
        shown = f" (got {value!r})" if value is not None else ""
        super().__init__(f"{self.path}: {key or '<top level>'}: {message}{shown}")


class FaultError(ZerospofError):
    """A fault could not be injected, verified or reverted."""


class FaultNotInEffect(FaultError):
    """A fault was injected but verification shows it did not take effect."""


class LabError(ZerospofError):
    """The lab could not be brought up, checked or torn down."""


class SafetyRefusal(ZerospofError):
    """A safety guard refused to act (allow-list, self-lockout, abort guard)."""


class TargetError(ZerospofError):
    """A target is not ready for a scenario, or a part of it (endpoint, signal, canary) could not be read."""


class TargetDown(TargetError):
    """The target is not there at all (e.g. the lab is not running): waiting for it to heal does not help."""
