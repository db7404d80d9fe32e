"""The README documents what the code does."""

import re

from conftest import ROOT
from kerma.extract.concepts import AGGREGATE_FIELDS, concept_table, header_rows, private_rows


def test_readme_lists_every_record_field():
    readme = (ROOT / "README.md").read_text()
    fields = {row.field for row in concept_table().values.values()}
    fields |= {row.field for row in (*header_rows(), *private_rows())} | set(AGGREGATE_FIELDS) | {"dlp_estimated"}
    assert sorted(f for f in fields if f"`{f}`" not in readme) == []


def test_readme_has_exactly_the_two_setup_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Set up", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["bash scripts/start.sh", "bash scripts/test.sh"]
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def readme_tables(first_header: str) -> list[list[list[str]]]:
    """The README's Markdown tables whose first header cell is ``first_header``: each a list of rows of cells
    (header and separator left out; ``\\|`` inside a cell is kept as ``|``)."""
    tables, current, lines = [], None, (ROOT / "README.md").read_text().splitlines()
    for line in lines + [""]:
        if line.startswith("|"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if current is None:
                current = [] if cells[0] == first_header else False
            elif current is not False and not set(cells[0]) <= {"-", ":"}:
                current.append(cells)
        else:
            if current:
                tables.append(current)
            current = None
    return tables


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_readme_lists_the_debian_packages_setup_installs():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    arrays = {name: re.search(rf"^{name}=\(([^)]*)\)", setup, re.M).group(1).split()
              for name in ("APT_PACKAGES", "APT_DEV_PACKAGES")}
    (table,) = readme_tables("script")
    documented = {row[0]: code_spans(row[1]) for row in table}
    for row, array in (("`start.sh`", "APT_PACKAGES"), ("`test.sh` (adds)", "APT_DEV_PACKAGES")):
        assert documented.get(row) == arrays[array], (
            f"README's package table (## Set up), row {row}, must list setup.sh's {array} in order: "
            f"missing {sorted(set(arrays[array]) - set(documented.get(row) or []))}, "
            f"not installed {sorted(set(documented.get(row) or []) - set(arrays[array]))}")
    assert len(documented) == 2, f"README's package table has rows setup.sh does not know: {sorted(documented)}"
