"""Every file kind is read through one bounded, strict YAML loader: refusals name the file and the key path."""

from __future__ import annotations

import time

import pytest
import yaml

from zerospof.errors import ConfigError
from zerospof.schema import MAX_FILE_BYTES, load_yaml_mapping
from zerospof.units import parse_duration_s, parse_percent


def billion_laughs(levels: int = 9) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghijk"[:levels - 1]:
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


REFUSED = {
    "duplicate top-level key": (b"a: 1\nb: 2\na: 3\n", "a", "duplicate key"),
    "duplicate nested key, last would win": (b"safety:\n  allow_runner_blackhole: false\n  allow_runner_blackhole: true\n",
                                             "safety.allow_runner_blackhole", "duplicate key"),
    "duplicate key in a flow mapping inside a list": (b"x: [{k: 1, k: 2}]\n", "x[0].k", "duplicate key"),
    "nan": (b"x:\n  y: .nan\n", "x.y", "finite"),
    "inf": (b"x: .inf\n", "x", "finite"),
    "overflowing float": (b"x: 1.0e+400\n", "x", "finite"),
    "negative inf in a list": (b"x: [1, -.inf]\n", "x[1]", "finite"),
    "billion laughs": (billion_laughs().encode(), "", "expands to more than"),
    "recursive alias": (b"x: &x [*x]\n", "x[0]", "contains it"),
    "not UTF-8": (b"name: caf\xe9\n", "", "not UTF-8"),
    "deeply nested flow lists": (b"x: " + b"[" * 5000, "", "nesting depth"),
    "deeply nested block mappings": ("".join(" " * i + "k:\n" for i in range(100)).encode(), "k.k.k", "deeper than"),
    "too large": (b"#" * (MAX_FILE_BYTES + 10), "", "too large"),
    "not a mapping": (b"- a\n", "", "mapping"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_unsafe_or_ambiguous_yaml_is_refused_naming_the_file_and_key(tmp_path, case):
    raw, key, message = REFUSED[case]
    path = tmp_path / "file.yaml"
    path.write_bytes(raw)
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_yaml_mapping(path)
    assert caught.value.path == str(path)
    assert caught.value.key.startswith(key) and message in str(caught.value)
    assert time.monotonic() - started < 2.0  # refused before expanding anything


def test_a_shared_anchor_and_distinct_int_and_string_keys_still_load(tmp_path):
    path = tmp_path / "file.yaml"
    path.write_text('base: &b {x: 1}\nfirst: *b\nsecond: *b\n1: int\n"1": str\nmerged:\n  <<: *b\n  y: 2\n')
    assert load_yaml_mapping(path) == {"base": {"x": 1}, "first": {"x": 1}, "second": {"x": 1}, 1: "int", "1": "str",
                                       "merged": {"x": 1, "y": 2}}


def test_the_loader_uses_libyaml_when_pyyaml_has_it():
    from zerospof import schema
    assert schema._Loader is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


@pytest.mark.parametrize("text", [float("nan"), float("inf"), "1" * 400 + "s", "\u0663\u0660s", "\uff13\uff10s"])
def test_non_finite_and_non_ascii_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration_s(text)


def test_non_ascii_percentages_are_refused():
    with pytest.raises(ValueError):
        parse_percent("\uff19\uff19%")
