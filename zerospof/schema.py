"""Read a YAML file into a mapping, safely, and validate it against a declarative schema, naming file and key path.

``load_yaml_mapping`` refuses, before any value is used: a file over :data:`MAX_FILE_BYTES`, bytes that are not
UTF-8, duplicate keys in a mapping (YAML would keep the last one silently), nesting deeper than
:data:`MAX_DEPTH`, aliases that expand to more than :data:`MAX_NODES` values (a "billion laughs" file) or refer
to themselves, and non-finite numbers (``.nan``, ``.inf``, ``1.0e+400``). It parses with libyaml when PyYAML
has it (about 30 times faster than the pure-Python parser).

``validate_model`` checks a parsed document against a pydantic model (the schema of one file kind, also
exported as JSON Schema for editors) and reports every problem at once as one ConfigError: file, key path,
message and value per problem, unknown keys with what is allowed there and a did-you-mean.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ValidationError, WithJsonSchema

from zerospof.errors import ConfigError
from zerospof.units import DURATION_PATTERN, PERCENT_PATTERN, parse_duration_s, parse_percent

__all__ = ["Duration", "Percent", "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "Section", "check_document", "config_errors",
           "load_yaml_mapping", "parse_yaml", "validate_model"]

M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 1_000_000  # objectives, target and experiment files are a few kB
MAX_DEPTH = 64
MAX_NODES = 100_000  # values after alias expansion

Duration = Annotated[float, BeforeValidator(parse_duration_s), WithJsonSchema({"anyOf": [
    {"type": "number", "minimum": 0}, {"type": "string", "pattern": DURATION_PATTERN}],
    "description": "a duration: '500ms', '30s', '5min', '1h', or seconds"})]
Percent = Annotated[float, BeforeValidator(parse_percent), WithJsonSchema({
    "type": "string", "pattern": PERCENT_PATTERN, "description": "a percentage such as '99.99%'"})]

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it


def _check_duplicate_keys(root: yaml.Node | None, path: str) -> None:
    """Refuse a mapping node that names one key twice (YAML would keep the last one silently)."""
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")] if root is not None else []
    while stack:  # iterative; a node reached again through an alias is checked once
        node, key = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, f"{key}[{index}]") for index, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            lines: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
                child_key = f"{key}.{name}" if key else str(name)
                identity = (key_node.tag, name)
                if name is not None and key_node.tag != "tag:yaml.org,2002:merge":
                    if identity in lines:
                        raise ConfigError(path, child_key, f"duplicate key: given on line {lines[identity]} and again "
                                          f"on line {key_node.start_mark.line + 1} (YAML would keep only the last)")
                    lines[identity] = key_node.start_mark.line + 1
                stack.append((value_node, child_key))


def parse_yaml(raw: bytes, path: str | Path) -> Any:
    """Parse ``raw`` (a whole file's bytes) with every bound of this module; raise ConfigError naming ``path``."""
    path = str(path)
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(path, "", f"file too large: {len(raw)} bytes, at most {MAX_FILE_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(path, "", f"not UTF-8 text: byte 0x{raw[exc.start]:02x} on line {line}") from exc
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            _check_duplicate_keys(root, path)
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(path, "", f"not valid YAML: {where}{getattr(exc, 'problem', None) or exc}") from exc
    except RecursionError as exc:  # the pure-Python parser on deep nesting
        raise ConfigError(path, "", f"nested deeper than {MAX_DEPTH} levels") from exc
    check_document(data, path)
    return data


def check_document(data: Any, path: str | Path) -> None:
    """Refuse nesting deeper than MAX_DEPTH, more than MAX_NODES values once aliases are expanded, a value that
    contains itself, and non-finite floats; each error names the key path."""
    path = str(path)
    sizes: dict[int, int] = {}  # id -> expanded size of a container already walked (aliases share it)
    ancestors: set[int] = set()
    total = 0
    stack: list[tuple[Any, str, int, int | None]] = [(data, "", 0, None)]
    while stack:  # iterative post-order walk: no recursion limit, each shared container walked once
        value, key, depth, opened_at = stack.pop()
        if opened_at is not None:  # every child of this container is done
            ancestors.discard(id(value))
            sizes[id(value)] = total - opened_at
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(path, key, "not a finite number", value)
        if isinstance(value, (dict, list)):
            if id(value) in ancestors:
                raise ConfigError(path, key, "an alias refers to a value that contains it")
            if depth >= MAX_DEPTH:
                raise ConfigError(path, key, f"nested deeper than {MAX_DEPTH} levels")
        total += sizes.get(id(value), 1)
        if total > MAX_NODES:
            raise ConfigError(path, key, f"expands to more than {MAX_NODES} values (aliases expanding?)")
        if not isinstance(value, (dict, list)) or id(value) in sizes:
            continue
        ancestors.add(id(value))
        stack.append((value, key, depth, total - 1))
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for name, child in children:
            child_key = f"{key}[{name}]" if isinstance(value, list) else (f"{key}.{name}" if key else str(name))
            stack.append((child, child_key, depth + 1, None))


def load_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read ``path`` as a YAML mapping (see the module's bounds); raise ConfigError for a missing, unparsable,
    unsafe or non-mapping file."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read file: {exc.strerror or exc}") from exc
    data = parse_yaml(raw, path)
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "expected a mapping at the top level", type(data).__name__)
    return data


class Section:
    """A mapping at ``key_path`` in ``path`` (an experiment's sections): errors that name the full key path."""

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

    def require(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self.data:
                raise self.error(name, "missing required key")


def validate_model(model: type[M], data: Any, path: str | Path, prefix: str = "",
                   context: dict[str, Any] | None = None) -> M:
    """Validate ``data`` (read from ``path``) against ``model``; raise one ConfigError listing every problem.

    ``prefix``: the key path of ``data`` in its file (``configuration``); ``context``: given to the model's
    validators (what other parts of the file say, e.g. the regions a target names).
    """
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = config_errors(str(path), exc, model, prefix)
        raise ConfigError(errors[0].path, errors[0].key, errors[0].detail, errors[0].value, tuple(errors[1:])) from exc


_TYPE_MESSAGES = {  # pydantic error type -> what the file needed there, in the project's words
    "model_type": "expected a mapping", "model_attributes_type": "expected a mapping", "dict_type": "expected a mapping",
    "list_type": "expected a list", "tuple_type": "expected a list", "string_type": "expected a string",
    "bool_type": "expected true or false", "int_type": "expected a whole number", "missing": "missing required key",
}


def config_errors(path: str, exc: ValidationError, model: type[BaseModel], prefix: str = "") -> list[ConfigError]:
    """One ConfigError per problem pydantic found (``loc`` parts in angle brackets are union tags: not keys; the
    last part of an unknown-key error is the user's key, whatever it looks like)."""
    found = []
    typos_first = sorted(exc.errors(), key=lambda error: error["type"] != "extra_forbidden")  # a typo explains a missing key
    for error in typos_first:
        loc = list(error["loc"])
        user_key = loc.pop() if error["type"] == "extra_forbidden" and loc else None
        loc = [part for part in loc if not _union_tag(part)] + ([] if user_key is None else [user_key])
        if loc[-1:] == ["[key]"]:  # the key itself is malformed (a header name): named by its own path
            loc.pop()
        key, value = _key_path(prefix, loc), error.get("input")
        if error["type"] == "extra_forbidden":
            message = _unknown_key(str(loc[-1]), _allowed_keys(model, loc[:-1]))
            found.append(ConfigError(path, key, message, value))  # the value given under the unknown key
        elif error["type"] == "missing":
            found.append(ConfigError(path, key, _TYPE_MESSAGES["missing"]))
        elif error["type"] in ("enum", "literal_error"):
            found.append(ConfigError(path, key, f"expected one of {error['ctx']['expected']}", value))
        elif error["type"] == "value_error":
            found.append(ConfigError(path, key, str(error["ctx"]["error"]), value))
        else:
            found.append(ConfigError(path, key, _TYPE_MESSAGES.get(error["type"], error["msg"]), value))
    return found


def _union_tag(part: Any) -> bool:
    """A tagged union's member in a ``loc`` (``Tag("<limit>")``), not a key of the file."""
    return isinstance(part, str) and len(part) > 2 and part.startswith("<") and part.endswith(">")


def _key_path(prefix: str, loc: list[Any]) -> str:
    key = prefix
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}" if key else str(part)
    return key


def _unknown_key(name: str, allowed: list[str]) -> str:
    if not allowed:
        return "unknown key"
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key; expected one of: {', '.join(allowed)}{hint}"


@functools.cache
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def _allowed_keys(model: type[BaseModel], loc: list[Any]) -> list[str]:
    """The keys the schema allows in the mapping at ``loc`` (empty when it cannot tell)."""
    schema = _json_schema(model)
    node = _object(schema, schema)
    for part in loc:
        if isinstance(part, int):
            node = _object(schema, node.get("items", {}))
        elif part in node.get("properties", {}):
            node = _object(schema, node["properties"][part])
        elif isinstance(node.get("additionalProperties"), dict):
            node = _object(schema, node["additionalProperties"])
        else:
            return []
    return list(node.get("properties", {}))


def _object(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with ``$ref`` followed and, for a union, its first mapping or list branch."""
    for _ in range(16):  # bounded: refs do not chain deeper in these schemas
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in node or "oneOf" in node:
            branches = [_object(schema, branch) for branch in node.get("anyOf", node.get("oneOf", []))]
            node = next((b for b in branches if b.get("type") in ("object", "array")), {})
        else:
            return node
    return node
