"""Property: whatever one value of a valid objectives, target or experiment file is replaced with (any type,
non-finite numbers, non-ASCII digits, deletions, unknown keys), ``validate`` either accepts the file or raises
ConfigError naming that file: never another exception (a traceback)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zerospof.errors import ConfigError
from zerospof.validate import validate_file

REPO = Path(__file__).resolve().parents[1]
TARGET = yaml.safe_load((REPO / "targets" / "staging.example.yaml").read_text())
DOCUMENTS = {
    "objectives": yaml.safe_load((REPO / "objectives.yaml").read_text()),
    "target": TARGET,
    "experiment": yaml.safe_load((REPO / "experiments" / "aws" / "az-failure.yaml").read_text()),
}

DIGITS = "0123456789\u0660\u0663\u06f5\u0966\uff10\uff11\uff19"
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=DIGITS + "smhin<=%/. -abcz", max_size=12),
    st.sampled_from(["5 parsecs", "-5s", "1.0e+400", ".nan", "< 0", "101%", "us-west-2z", "\uff11" * 12, ""]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in ``node`` (mappings and lists), the root excluded."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in items:
        found.append((*prefix, key))
        found += paths(child, (*prefix, key))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(sorted(DOCUMENTS)))
    document = copy.deepcopy(DOCUMENTS[kind])
    path = draw(st.sampled_from(paths(document)))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "delete":
        parent.pop(path[-1]) if isinstance(parent, dict) else parent.pop(path[-1])
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=10))] = draw(values)
    else:
        parent[path[-1]] = draw(values)
    return kind, document


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=mutated())
def test_any_single_mutation_is_accepted_or_refused_with_a_config_error_naming_the_file(tmp_path, case):
    kind, document = case
    path = tmp_path / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    try:
        validate_file(path)
    except ConfigError as exc:
        assert exc.path == str(path)
