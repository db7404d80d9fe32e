"""The import graph of ``plugin/kerma``, built from the code with ``ast`` (every import, those inside functions
too): no module reaches itself through its imports, no package does, and imports go down the layers (issue 11: one
direction between the rooms, so each can be read, tested and changed on its own)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest
from sqlalchemy import Float

KERMA = Path(__file__).resolve().parents[1] / "plugin" / "kerma"
# A package or top-level module imports only from its own layer or lower ones (/work/ARCH-11.md's table; reconcile
# sits with classify, which reads its order matches, one layer below hl7, which writes orders into it; layer 1 is
# the typed record, kerma.record, which every producer builds and the store and db read).  The pipeline (kerma.pipeline: what happens after storing) has a layer of its own,
# above every stage it runs (evaluate, then notify: evaluation returns the alerts it raised, the notification stage
# tells) and below those that store (ingest, manual entry).  A new package gets its place here.
LAYERS = {
    0: "kerma quantities correction_kinds numbers clock config access modalities patterns rule_rows startup auth_profile images supervisor jsonout",
    1: "record",
    2: "extract db background child lease audit privacy",
    3: "study_dose resolution drl classify stats reconcile dosimetry derived occupational corrections patients acceptance",
    4: "evaluate hl7",
    5: "notify reports",
    6: "pipeline",
    7: "ingest manual mpps backfill output",
    8: "api",
    9: "orthanc_edge cli ui_page",
}
LAYER = {name if name == "kerma" else f"kerma.{name}": layer for layer, names in LAYERS.items() for name in names.split()}
LOWEST = {name for name, layer in LAYER.items() if layer == 0}


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


def test_imports_go_down_the_layers(kerma):
    between = packages(kerma)
    assert set(between) <= set(LAYER), f"place these in LAYERS: {sorted(set(between) - set(LAYER))}"
    upward = {(name, target) for name, targets in between.items() for target in targets if LAYER[target] > LAYER[name]}
    assert upward == set(), f"upward imports: {sorted(upward)}"


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


def test_the_event_table_is_written_out_with_the_extractors_fields(kerma):
    """``db/models.py`` reads nothing of the extractor: its event columns are written out, and equal the fields the
    extractor's concept tables give (names, order, measurement or not), with a column for each correction factor."""
    from kerma.correction_kinds import event_columns
    from kerma.db.models import EVENT_FIELDS, IrradiationEvent
    from kerma.extract.concepts import event_fields

    assert not {name for name in kerma["kerma.db.models"] if name.startswith("kerma.extract")}
    assert list(EVENT_FIELDS.items()) == list(event_fields().items())
    columns = IrradiationEvent.__table__.columns
    assert set(event_columns()) <= set(columns.keys()) and not set(event_columns()) & set(EVENT_FIELDS)
    assert all(isinstance(columns[name].type, Float) == measured for name, measured in EVENT_FIELDS.items())
