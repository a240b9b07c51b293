"""Small helpers to read a YAML mapping into typed values, naming file and key path on every error."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from zerospof.errors import ConfigError

__all__ = ["load_yaml_mapping", "Section"]

T = TypeVar("T")


def load_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read ``path`` as a YAML mapping; raise ConfigError for a missing, unparsable or non-mapping file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read file: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(str(path), "", f"not valid YAML: {where}{getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "expected a mapping at the top level", type(data).__name__)
    return data


class Section:
    """A mapping at ``key_path`` in ``path``: typed getters that raise ConfigError with the full key path."""

    def __init__(self, path: str | Path, data: object, key_path: str = "") -> None:
        self.path = str(path)
        self.key_path = key_path
        if not isinstance(data, Mapping):
            raise ConfigError(self.path, key_path, "expected a mapping", data)
        self.data: Mapping[str, Any] = data

    def key(self, name: str) -> str:
        return f"{self.key_path}.{name}" if self.key_path else name

    def error(self, name: str, message: str, value: object = None) -> ConfigError:
        return ConfigError(self.path, self.key(name), message, value)

    def only(self, allowed: Iterable[str]) -> None:
        """Fail on the first key not in ``allowed`` (typo protection), suggesting what is allowed."""
        allowed = list(allowed)
        for name in self.data:
            if name not in allowed:
                raise self.error(str(name), f"unknown key; expected one of: {', '.join(allowed)}")

    def require(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self.data:
                raise self.error(name, "missing required key")

    def get(self, name: str, convert: Callable[[Any], T], default: T | None = None) -> T | None:
        """Return ``convert(value)`` or ``default`` when absent; a ValueError becomes a ConfigError."""
        if name not in self.data:
            return default
        value = self.data[name]
        try:
            return convert(value)
        except (ValueError, TypeError) as exc:
            raise self.error(name, str(exc), value) from exc

    def section(self, name: str) -> Section:
        if name not in self.data:
            raise self.error(name, "missing required section")
        return Section(self.path, self.data[name], self.key(name))

    def items(self) -> Iterable[tuple[str, Any]]:
        return self.data.items()
