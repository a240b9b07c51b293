"""Small readers that check one YAML value each and fail with ConfigError(file, key path, message, value)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from zerospof.errors import ConfigError
from zerospof.units import parse_duration_s, parse_percent

__all__ = ["Reader"]


class Reader:
    """Read values out of one parsed file; every error names the file, the key path and the bad value."""

    def __init__(self, path: str) -> None:
        self.path = str(path)

    def fail(self, key: str, message: str, value: object = None) -> ConfigError:
        """Return (for ``raise``) a ConfigError about ``key``."""
        return ConfigError(self.path, key, message, value)

    def mapping(self, value: Any, key: str, required: Iterable[str] = (), optional: Iterable[str] = ()) -> dict[str, Any]:
        """Check ``value`` is a mapping with exactly the known keys; unknown keys fail with a hint."""
        if value is None and not required:
            value = {}
        if not isinstance(value, dict):
            raise self.fail(key, "expected a mapping", value)
        required, optional = list(required), list(optional)
        known = set(required) | set(optional)
        for name in value:
            if name not in known:
                raise self.fail(_join(key, str(name)), f"unknown key; expected one of {sorted(known)}", name)
        for name in required:
            if value.get(name) is None:
                raise self.fail(_join(key, name), "is required")
        return value

    def string(self, value: Any, key: str, pattern: str | None = None, what: str = "a string") -> str:
        """Check ``value`` is a non-empty string (matching ``pattern`` when given)."""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected {what}", value)
        if pattern is not None and re.fullmatch(pattern, value, re.ASCII) is None:  # ASCII: no Arabic or full-width digits
            raise self.fail(key, f"expected {what}", value)
        return value

    def optional_string(self, value: Any, key: str, pattern: str | None = None, what: str = "a string") -> str | None:
        """Like :meth:`string`, but None passes."""
        return None if value is None else self.string(value, key, pattern, what)

    def choice(self, value: Any, key: str, choices: Iterable[str], default: str | None = None) -> str:
        """Check ``value`` is one of ``choices`` (``default`` when missing)."""
        choices = list(choices)
        if value is None and default is not None:
            return default
        if value not in choices:
            raise self.fail(key, f"expected one of {choices}", value)
        return str(value)

    def boolean(self, value: Any, key: str, default: bool = False) -> bool:
        """Check ``value`` is true/false (``default`` when missing)."""
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, "expected true or false", value)
        return value

    def duration_s(self, value: Any, key: str, default: float) -> float:
        """Parse a duration such as ``30s`` (``default`` seconds when missing)."""
        if value is None:
            return default
        try:
            return parse_duration_s(value)
        except ValueError as exc:
            raise self.fail(key, str(exc), value) from exc

    def percent(self, value: Any, key: str, default: float) -> float:
        """Parse a percentage such as ``90%`` (``default`` when missing)."""
        if value is None:
            return default
        try:
            return parse_percent(value)
        except ValueError as exc:
            raise self.fail(key, str(exc), value) from exc

    def items(self, value: Any, key: str, allow_empty: bool = True) -> list[tuple[str, Any]]:
        """Check ``value`` is a list; return ``(key path, item)`` pairs."""
        if value is None:
            value = []
        if not isinstance(value, list):
            raise self.fail(key, "expected a list", value)
        if not value and not allow_empty:
            raise self.fail(key, "must not be empty", value)
        return [(f"{key}[{index}]", item) for index, item in enumerate(value)]

    def strings(self, value: Any, key: str, pattern: str | None = None, what: str = "a string",
                allow_empty: bool = True) -> tuple[str, ...]:
        """Check ``value`` is a list of strings."""
        return tuple(self.string(item, item_key, pattern, what) for item_key, item in self.items(value, key, allow_empty))

    def string_map(self, value: Any, key: str) -> dict[str, str]:
        """Check ``value`` is a mapping of string to string (YAML scalars must be quoted)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "expected a mapping of strings", value)
        for name, item in value.items():
            if not isinstance(name, str) or not isinstance(item, str):
                raise self.fail(_join(key, str(name)), "expected a string (quote it in YAML)", item)
        return dict(value)


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name
