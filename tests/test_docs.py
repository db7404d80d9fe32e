"""The README documents what the code does."""

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
