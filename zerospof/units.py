"""Parse human units (``30s``, ``5min``, ``99.99%``) into numbers."""

from __future__ import annotations

import math
import re

__all__ = ["DURATION_PATTERN", "PERCENT_PATTERN", "parse_duration_s", "parse_percent", "format_duration"]

DURATION_PATTERN = r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hours?)?\s*$"
_DURATION = re.compile(DURATION_PATTERN, re.ASCII)
PERCENT_PATTERN = r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*%\s*$"
_FACTOR_S = {
    "ms": 0.001,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0,
}


def parse_duration_s(text: object) -> float:
    """Return the duration ``text`` (``"30s"``, ``"5min"``, ``"500ms"``, ``0``) in seconds.

    A bare number (or numeric string) is seconds. Raise ``ValueError`` on anything else, including negative and
    non-finite values (``nan``, ``inf``, ``1e400``) and digits other than ASCII ones.
    """
    if isinstance(text, bool):
        raise ValueError("expected a duration such as '30s' or '5min', not a boolean")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        match = _DURATION.match(str(text))
        if match is None:
            if re.match(r"^\s*-", str(text)):
                raise ValueError("a duration cannot be negative")
            raise ValueError("expected a duration such as '500ms', '30s', '5min' or '1h'")
        value = float(match.group(1)) * _FACTOR_S[match.group(2) or "s"]
    if not math.isfinite(value):
        raise ValueError("a duration must be a finite number")
    if value < 0:
        raise ValueError("a duration cannot be negative")
    return value


def parse_percent(text: object) -> float:
    """Return the percentage ``text`` (``"99.99%"``) as a number between 0 and 100."""
    if isinstance(text, bool):
        raise ValueError("expected a percentage such as '99.99%', not a boolean")
    match = re.match(PERCENT_PATTERN, str(text), re.ASCII)
    if match is None:
        raise ValueError("expected a percentage such as '99.99%'")
    value = float(match.group(1))
    if not 0.0 <= value <= 100.0:
        raise ValueError("a percentage must be between 0% and 100%")
    return value


def format_duration(seconds: float | None) -> str:
    """Format ``seconds`` for people: ``'n/a'`` for None, ms below 1 s, min above 2 min."""
    if seconds is None:
        return "n/a"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds >= 120:
        return f"{seconds / 60:.1f}min"
    return f"{seconds:.1f}s"
