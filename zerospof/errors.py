"""The project's errors: one root, a few bases, one place to read them from."""

from __future__ import annotations

__all__ = [
    "ZerospofError",
    "ConfigError",
    "FaultError",
    "FaultNotInEffect",
    "LabError",
    "SafetyRefusal",
    "SetupError",
    "TargetError",
    "TargetDown",
    "NoAccess",
    "exit_code",
    "EXIT_MET",
    "EXIT_MISSED",
    "EXIT_BAD_INPUT",
    "EXIT_ERROR",
]

# Exit codes everywhere (``zerospof run``, ``validate``, ``revert``, the pytest gate):
EXIT_MET = 0  # every objective met (or: the command did what was asked)
EXIT_MISSED = 1  # an objective was missed (or something could not be reverted)
EXIT_BAD_INPUT = 2  # a malformed file or argument, reported before any fault
EXIT_ERROR = 3  # a harness or target error: no credentials, unreachable, not ready, refused by a safety guard


class ZerospofError(Exception):
    """Root of every error zerospof raises on purpose."""


class ConfigError(ZerospofError):
    """A configuration file (objectives, target, experiment) is malformed.

    ``path``, ``key``, ``detail`` and ``value`` are the first problem; ``errors`` lists every problem found in the
    file (this one first, then ``more``), and the message has one line per problem.
    """

    def __init__(self, path: str, key: str, message: str, value: object = None,
                 more: tuple[ConfigError, ...] = ()) -> None:
        self.path = str(path)
        self.key = key
        self.value = value
        self.detail = message
        self.errors: list[ConfigError] = [self, *more]
        shown = f" (got {value!r})" if value is not None else ""
        super().__init__("\n".join([f"{self.path}: {key or '<top level>'}: {message}{shown}", *map(str, more)]))


class FaultError(ZerospofError):
    """A fault could not be injected, verified or reverted."""


class FaultNotInEffect(FaultError):
    """A fault was injected but verification shows it did not take effect."""


class LabError(ZerospofError):
    """The lab could not be brought up, checked or torn down."""


class SetupError(ZerospofError):
    """Something ``bin/setup`` provides (a package, a built binary) is missing: run it."""


class SafetyRefusal(ZerospofError):
    """A safety guard refused to act (allow-list, self-lockout, abort guard)."""


class TargetError(ZerospofError):
    """A target is not ready for a scenario, or a part of it (endpoint, signal, canary) could not be read."""


class TargetDown(TargetError):
    """The target is not there at all (e.g. the lab is not running): waiting for it to heal does not help."""


class NoAccess(TargetDown):
    """The runner cannot authenticate to or reach the target's API (no credentials, access denied): waiting does not help."""


def exit_code(error: BaseException) -> int:
    """The exit code for an error that ended a command: 2 for bad input, 3 for any other (harness or target)."""
    return EXIT_BAD_INPUT if isinstance(error, ConfigError) else EXIT_ERROR
