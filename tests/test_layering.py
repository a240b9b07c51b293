"""Package layering: imports go one way (``zerospof.cloud`` <- ``zerospof.k8s`` <- ``zerospof.aws``), no lazy
module ``__getattr__`` hides a cycle, and nothing fake ships in the product package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "zerospof"


def imported_packages(package: str) -> dict[str, set[str]]:
    """``{module path: zerospof sub-packages it imports}`` for every module of ``zerospof.<package>``, imports
    inside functions included."""
    found = {}
    for path in (PACKAGE / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            names |= {m.split(".")[1] for m in modules if m.startswith("zerospof.") and m.count(".") >= 1}
        found[str(path.relative_to(PACKAGE))] = names
    return found


@pytest.mark.parametrize(("package", "forbidden"), [("cloud", {"aws", "k8s"}), ("k8s", {"aws"})])
def test_lower_layers_never_import_the_aws_package(package, forbidden):
    offenders = {path: names & forbidden for path, names in imported_packages(package).items() if names & forbidden}
    assert offenders == {}


@pytest.mark.parametrize("package", ["cloud", "k8s", "aws"])
def test_no_package_hides_imports_behind_a_module_getattr(package):
    lazy = [str(path.relative_to(PACKAGE)) for path in (PACKAGE / package).rglob("*.py")
            if any(isinstance(node, ast.FunctionDef) and node.name == "__getattr__"
                   for node in ast.parse(path.read_text()).body)]
    assert lazy == []


def test_nothing_fake_ships_in_the_product_package():
    assert [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*fake*")] == []
