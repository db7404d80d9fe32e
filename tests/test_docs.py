"""The README documents what the code does."""

from conftest import ROOT
from kerma.extract.concepts import concept_table


def test_readme_lists_every_record_field():
    readme = (ROOT / "README.md").read_text()
    missing = sorted({row.field for row in concept_table().values.values() if f"`{row.field}`" not in readme})
    assert missing == []


def test_readme_has_exactly_the_two_setup_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Set up", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["bash scripts/start.sh", "bash scripts/test.sh"]
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
