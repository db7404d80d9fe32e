"""What scripts/setup.sh installs: the locks pin what the code imports, and the venv holds the locked versions."""

import ast
import importlib.metadata
import re
import sys

from packaging.requirements import Requirement

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import check_lock  # noqa: E402  (scripts/check_lock.py, the check setup.sh runs)

# requirements.txt entries the product needs without importing them by name
NOT_IMPORTED = {
    "psycopg": "SQLAlchemy's driver for postgresql+psycopg:// URLs",
    "setuptools": "builds the editable kerma command (setup.sh)",
    "pylibjpeg": "pydicom's pixel data decoders for compressed CT images, loaded by pydicom (kerma/dosimetry/ssde)",
    "pylibjpeg-libjpeg": "pylibjpeg's JPEG / JPEG-LS plugin, loaded by pylibjpeg",
    "pylibjpeg-openjpeg": "pylibjpeg's JPEG 2000 plugin, loaded by pylibjpeg",
}


# requirements-dev.txt entries the tests need without importing them by name
DEV_NOT_IMPORTED = {
    "pytest-xdist": "pytest's plugin for -n (scripts/test.sh runs the suite in two worker processes)",
}


def imported_modules(*folders) -> dict[str, set[str]]:
    """Top-level modules that the .py files under ``folders`` import (absolute imports, lazy ones included):
    ``{module: {file, ...}}``."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def third_party(modules: dict[str, set[str]], local: set[str]) -> dict[str, set[str]]:
    return {m: files for m, files in modules.items()
            if m not in sys.stdlib_module_names and m not in local and m not in {"orthanc", "kerma"}}


def distributions(modules) -> dict[str, str]:
    """``{module: normalised distribution name}``; a module no installed distribution provides is missing."""
    providers = importlib.metadata.packages_distributions()
    return {m: check_lock.normalise(providers[m][0]) for m in modules if m in providers}


def listed(source: str) -> dict[str, Requirement]:
    """The requirements written in ``source`` itself (not those it includes with ``-r``)."""
    lines = [line.split(" #", 1)[0].strip() for line in (ROOT / source).read_text().splitlines()]
    return {check_lock.normalise(r.name): r for r in
            (Requirement(line) for line in lines if line and not line.startswith(("#", "-")))}


def local_modules(*folders) -> set[str]:
    return {p.stem for folder in folders for p in (ROOT / folder).iterdir() if p.suffix == ".py" or p.is_dir()}


def test_runtime_requirements_are_exactly_what_the_product_imports():
    modules = third_party(imported_modules("plugin", "migrations"), local_modules("plugin"))
    provided = distributions(modules)
    assert sorted(set(modules) - set(provided)) == [], "imported by the product but not installed (run scripts/setup.sh --dev)"
    runtime = listed("requirements.txt")
    undeclared = {dist: sorted(modules[m]) for m, dist in provided.items() if dist not in runtime}
    assert undeclared == {}, "imported by the product, missing from requirements.txt"
    unused = set(runtime) - set(provided.values()) - set(NOT_IMPORTED)
    assert sorted(unused) == [], "in requirements.txt but imported by no product code (tests' tools go to requirements-dev.txt)"


def test_dev_requirements_are_what_the_tests_and_bench_import_besides():
    modules = third_party(imported_modules("tests", "bench"), local_modules("tests", "bench", "plugin", "scripts"))
    provided = distributions(modules)
    assert sorted(set(modules) - set(provided)) == [], "imported by tests or bench but not installed (run scripts/setup.sh --dev)"
    runtime, dev = listed("requirements.txt"), listed("requirements-dev.txt")
    undeclared = {dist: sorted(modules[m]) for m, dist in provided.items() if dist not in runtime and dist not in dev}
    assert undeclared == {}, "imported by tests or bench, missing from requirements-dev.txt"
    unused = set(dev) - set(provided.values()) - set(DEV_NOT_IMPORTED)
    assert sorted(unused) == [], "in requirements-dev.txt but imported by no test or bench"
    assert sorted(set(dev) & set(runtime)) == [], "listed in both files"


def test_each_lock_pins_its_list_with_hashes_and_the_dev_lock_agrees_with_the_runtime_lock():
    for lock, source in check_lock.LOCKS.items():
        text = (ROOT / lock).read_text()
        pins = check_lock.pins(ROOT / lock)
        for line in check_lock.requirement_lines(ROOT / source):
            requirement = Requirement(line)
            name = check_lock.normalise(requirement.name)
            assert name in pins, f"{source} names {name}, which {lock} does not pin: run scripts/lock.sh"
            assert requirement.specifier.contains(pins[name], prereleases=True), \
                f"{lock} pins {name}=={pins[name]}, outside {source}'s {requirement}: run scripts/lock.sh"
        for entry in re.split(r"\n(?=[A-Za-z0-9])", text):  # one entry per package: its pin, hashes, "via" lines
            match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==", entry)
            if match:
                assert "--hash=sha256:" in entry, f"{lock}: {match.group(1)} has no hash"
    runtime, dev = check_lock.pins(ROOT / "requirements.lock"), check_lock.pins(ROOT / "requirements-dev.lock")
    assert {name: (version, dev.get(name)) for name, version in runtime.items() if dev.get(name) != version} == {}


def test_the_venv_holds_the_locked_versions():
    """setup.sh --dev installed requirements-dev.lock (the tests run in that venv)."""
    pins = check_lock.pins(ROOT / "requirements-dev.lock")
    installed = {}
    for name in pins:
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed[name] = None
    assert {n: (v, installed[n]) for n, v in pins.items() if installed[n] != v} == {}, \
        "(locked, installed) differ: run scripts/setup.sh --dev"
    assert sys.prefix == str(ROOT / ".venv") and sys.base_prefix == "/usr", "the venv is built from /usr/bin/python3"
    assert (ROOT / ".venv" / "bin" / "kerma").is_file(), "the kerma command (pip install -e plugin)"
