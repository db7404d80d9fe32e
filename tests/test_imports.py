"""The import graph of ``plugin/kerma``, built from the code with ``ast`` (every import, those inside functions
too): no module reaches itself through its imports, no package does, and the lowest layer imports only itself
(issue 11: one direction between the rooms, so each can be read, tested and changed on its own)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

KERMA = Path(__file__).resolve().parents[1] / "plugin" / "kerma"
# the lowest layer: the vocabulary, number formatting, the clock and the settings, which everything may read
LOWEST = {"kerma.quantities", "kerma.numbers", "kerma.clock", "kerma.config", "kerma.access", "kerma.modalities"}


def modules(root: Path) -> dict[str, Path]:
    """Every module under ``root`` (a package directory) by dotted name; a package is its ``__init__``."""
    out = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports, anywhere in its code."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            # "from . import monthly" names a module; "from .tables import Filters" a name in one
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in known and target != name}
    return found


def graph(root: Path) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imports(name, path, known) for name, path in known.items()}


def packages(modules_graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between the top-level modules and packages (``kerma.stats``, ``kerma.quantities``)."""
    def top(name: str) -> str:
        return ".".join(name.split(".")[:2])

    out: dict[str, set[str]] = {}
    for name, targets in modules_graph.items():
        out.setdefault(top(name), set()).update(top(t) for t in targets if top(t) != top(name))
    return out


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    try:
        TopologicalSorter(edges).prepare()
    except CycleError as exc:
        return exc.args[1]
    return None


@pytest.fixture(scope="module")
def kerma() -> dict[str, set[str]]:
    return graph(KERMA)


def test_the_graph_sees_every_kind_of_import(kerma):
    assert "kerma.quantities" in kerma["kerma.stats.monthly"]  # from .. import quantities
    assert "kerma.stats.tables" in kerma["kerma.stats.refresher"]  # from .tables import Filters, computed_table
    assert "kerma.drl.sets" in kerma["kerma.cli"]  # inside a function
    assert kerma["kerma.quantities"] == set()


def test_no_module_reaches_itself_through_its_imports(kerma):
    assert cycle(kerma) is None, f"import cycle: {' -> '.join(cycle(kerma))}"


def test_no_package_reaches_itself_through_its_imports(kerma):
    between = packages(kerma)
    assert {"kerma.stats", "kerma.hl7", "kerma.reconcile", "kerma.drl"} <= set(between)
    assert cycle(between) is None, f"package cycle: {' -> '.join(cycle(between))}"


def test_the_lowest_layer_imports_only_itself(kerma):
    for name in LOWEST:
        assert kerma[name] <= LOWEST, f"{name} imports {sorted(kerma[name] - LOWEST)}"


def test_a_cycle_is_found_where_there_is_one(tmp_path):
    """The check can fail: two modules of a made-up package that import each other, one of them in a function."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "a.py").write_text("from ..b import thing\n")
    (package / "b.py").write_text("def thing():\n    from .sub import a\n")
    edges = graph(package)
    assert edges["pkg.b"] == {"pkg.sub.a"} and edges["pkg.sub.a"] == {"pkg.b"}
    assert set(cycle(edges)) == {"pkg.b", "pkg.sub.a"}
    assert set(cycle(packages(edges))) == {"pkg.b", "pkg.sub"}
