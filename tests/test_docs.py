"""The README documents what the code does."""

import argparse
import json
import re
import sys

from conftest import CORPUS, ROOT
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


def readme_tables(*header: str) -> list[list[list[str]]]:
    """The README's Markdown tables whose header row starts with the cells ``header``: each a list of rows of cells
    (header and separator left out; ``\\|`` inside a cell is kept as ``|``)."""
    tables, current, lines = [], None, (ROOT / "README.md").read_text().splitlines()
    for line in lines + [""]:
        if line.startswith("|"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if current is None:
                current = [] if tuple(cells[:len(header)]) == header else False
            elif current is not False and not set(cells[0]) <= {"-", ":"}:
                current.append(cells)
        else:
            if current:
                tables.append(current)
            current = None
    return tables


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_readme_record_schema_is_the_json_kerma_extract_prints(capsys):
    """Every key of ``kerma extract --json`` (DoseRecord.as_dict()) is in the README's record schema, and an ``ok``
    record has every key the schema lists but those some records only have; its parts have exactly their listed keys."""
    from kerma.cli import main

    (table,) = readme_tables("key", "content")
    keys = {span.removesuffix("[]"): row for row in table for span in code_spans(row[0])}
    files = [CORPUS / name for name in (
        "openrem/CT-ESR-GE_Optima.dcm", "public/ct_image/orthanc-tests__2020-09-11-Christopher-ELSCINT1-Raw.dcm")]
    assert main(["extract", "--json", *map(str, files)]) == 0
    report, image = json.loads(capsys.readouterr().out)
    sometimes = {"dose_screen", "contrast"}  # a dose screen's, and an image's that states contrast
    assert set(report) == set(keys) - sometimes
    assert set(image) == set(keys) - {"dose_screen"}
    for part in ("patient", "study", "device"):
        assert set(report[part]) == set(code_spans(keys[part][1])), part


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


# --- REST routes: the README's route tables against the router ---------------------------------------------------

_METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH"}


def _expand(segments: list[list[str]]) -> list[str]:
    paths = [""]
    for choices in segments:
        paths = [f"{p}/{c}" if p else c for p in paths for c in choices]
    return paths


def documented_routes() -> dict[tuple[str, str], str]:
    """``{(method, path template): README row}`` from every table headed ``| route |``. A cell holds code spans
    such as `GET/POST alerts/rules`, `PUT alerts/{id}`, `hl7/messages/{id}` (the method of the span before),
    `POST alerts/{id}/acknowledge|close`, `GET reconciliation/{no-order,no-dose}`, `GET alerts/digest?date=`.
    Placeholders become ``{}``; alternatives are expanded."""
    found = {}
    for table in readme_tables("route"):
        for row in table:
            methods = None
            for span in code_spans(row[0]):
                words = span.split(" ", 1)
                if len(words) == 2 and set(words[0].split("/")) <= _METHODS:
                    methods, path = words[0].split("/"), words[1]
                else:
                    path = span
                assert methods, f"README route row {row[0]!r}: {span!r} has no method"
                segments = []
                for segment in path.split("?", 1)[0].strip("/").split("/"):
                    if re.fullmatch(r"\{[^{}]*,[^{}]*\}", segment):
                        segments.append(segment[1:-1].split(","))
                    elif re.fullmatch(r"\{[^{}]+\}", segment):
                        segments.append(["{}"])
                    else:
                        segments.append(segment.split("|"))
                for method in methods:
                    for template in _expand(segments):
                        found[(method, template)] = row[0]
    return found


def _group_end(pattern: str, start: int) -> int:
    """Index of the ``)`` closing the group opened at ``pattern[start]``."""
    depth, i = 0, start
    while True:
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = pattern.index("]", i + 2)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1


def route_templates(pattern: str) -> list[str]:
    """The path templates of a router pattern: ``(?P<id>\\d+)`` -> ``{}``; a group of plain words
    (``(?P<action>close|reopen)``) -> each word."""
    segments, literal, i = [], "", 0
    while i < len(pattern):
        if pattern.startswith("(?P<", i):
            end = _group_end(pattern, i)
            body = pattern[pattern.index(">", i) + 1:end]
            words = body.split("|") if re.fullmatch(r"[\w-]+(\|[\w-]+)+", body) else ["{}"]
            segments.append([literal + w for w in words])
            literal, i = "", end + 1
            continue
        assert pattern[i] not in "()[]*+?\\^$.|{}", f"router pattern {pattern!r}: cannot read {pattern[i:]!r}"
        literal += pattern[i]
        i += 1
    texts = [""]
    for choices in segments:
        texts = [t + c for t in texts for c in choices]
    return [t + literal for t in texts]


def test_readme_route_tables_match_the_router():
    from kerma.api.router import ROUTES

    served = {(r.method, template): r.pattern.pattern for r in ROUTES for template in route_templates(r.pattern.pattern)}
    documented = documented_routes()
    undocumented = sorted(f"{method} {path}   (router pattern {served[(method, path)]!r})"
                          for method, path in set(served) - set(documented))
    assert undocumented == [], "routes with no row in a README route table (| route | answer |):\n" + "\n".join(undocumented)
    unserved = sorted(f"{method} {path}   (README row {documented[(method, path)]!r})"
                      for method, path in set(documented) - set(served))
    assert unserved == [], "README route rows the router does not serve:\n" + "\n".join(unserved)


# --- the kerma command: the README's usage lines and option table against the parser -----------------------------

def cli_commands() -> dict[str, argparse.ArgumentParser]:
    """``{"db upgrade": its parser, ...}``: every leaf command of ``kerma``, with its help on ``parser.help``."""
    from kerma.cli import parser

    leaves, todo = {}, [("", parser())]
    while todo:
        prefix, node = todo.pop()
        subs = [a for a in node._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            leaves[prefix] = node
            continue
        helps = {choice.dest: choice.help for choice in subs[0]._choices_actions}
        for name, child in subs[0].choices.items():
            child.help = helps[name]
            todo.append((f"{prefix} {name}".strip(), child))
    return leaves


def _options(command: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in command._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def test_readme_command_lines_match_the_kerma_parser():
    commands = cli_commands()
    section = (ROOT / "README.md").read_text().split("## Command line", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    seen = set()
    for line in block.strip().splitlines():
        usage, _, comment = line.partition("#")
        words = usage.split()
        assert words[0] == ".venv/bin/kerma", line
        name = next((n for n in sorted(commands, key=len, reverse=True) if words[1:1 + len(n.split())] == n.split()), None)
        assert name, f"README command line {line!r} names no kerma command ({sorted(commands)})"
        seen.add(name)
        command, rest = commands[name], " ".join(words[1 + len(name.split()):])
        assert comment.strip() == command.help, f"README's comment on `kerma {name}` must be its --help text"
        for action in _options(command):
            flag = action.option_strings[-1]
            shown = flag if action.nargs == 0 else f"{flag} {action.dest.upper() if action.choices else action.metavar or action.dest.upper()}"
            written = shown if action.required else f"[{shown}]"
            assert written in rest, f"README's `kerma {name}` line lacks {written!r}"
            rest = rest.replace(written, "", 1)
        positionals = [a for a in command._actions if not a.option_strings]
        expected = [a.metavar + ("..." if a.nargs == "+" else "") for a in positionals]
        assert rest.split() == expected, f"README's `kerma {name}` line: arguments {rest.split()} instead of {expected}"
    assert sorted(set(commands) - seen) == [], "kerma commands with no line in the README's Command line block"

    table = {(span.rsplit(" ", 1)[0], span.rsplit(" ", 1)[1]): row[1]
             for (table,) in [readme_tables("option")] for row in table for span in code_spans(row[0])}
    helps = {(name, action.option_strings[-1]): action.help for name, command in commands.items()
             for action in _options(command)}
    assert sorted(set(helps) - set(table)) == [], "kerma options with no row in the README's option table"
    assert sorted(set(table) - set(helps)) == [], "README option rows the kerma command does not have"
    assert {k: (table[k], helps[k]) for k in helps if table[k] != helps[k]} == {}, "(README, --help) must say the same"


# --- the `Kerma` configuration section: the README's tables against the settings parser ----------------------------

class _Recording(dict):
    """A configuration section that notes every key the parser asks for."""

    def __init__(self, read: set, prefix: str = ""):
        super().__init__({"_probe": None})  # not empty: `section or {}` keeps it
        self.read, self.prefix = read, prefix

    def get(self, key, default=None):
        self.read.add(self.prefix + key)
        if key == "Smtp":
            return _Recording(self.read, "Smtp.")
        return default


def settings_keys() -> set[str]:
    """Every key of the ``Kerma`` section that :meth:`kerma.config.Settings.from_orthanc` reads (``Smtp.Host``...)."""
    from kerma.config import Settings

    read: set[str] = set()
    Settings.from_orthanc({"Kerma": _Recording(read)})
    return read


def config_rows() -> list[tuple[list[str], list[str], str]]:
    """``(keys, default spans, meaning)`` of every row of the README's ``Kerma`` configuration tables."""
    return [(code_spans(row[0]), code_spans(row[1]), row[2])
            for key in ("key", "`Kerma` key") for table in readme_tables(key, "default", "meaning") for row in table]


def test_readme_configuration_tables_name_every_setting_the_parser_reads():
    keys = settings_keys()
    rows = config_rows()
    documented = {key for row_keys, _, _ in rows for key in row_keys}
    top = {k for k in keys if "." not in k}
    assert sorted(top - documented) == [], "Kerma settings with no row in a README configuration table (| key | default | meaning |)"
    assert sorted(documented - top) == [], "README configuration rows for keys the settings parser does not read"
    for key in sorted(k for k in keys if "." in k):
        section, sub = key.split(".")
        (meaning,) = [m for row_keys, _, m in rows if section in row_keys]
        assert f'"{sub}"' in meaning, f"README's {section} row does not name its key \"{sub}\""


def test_readme_configuration_defaults_are_the_parser_defaults():
    """Setting a key to the default the README states changes nothing (rows whose defaults are one code span per
    key; `<IndexDirectory>` stands for Orthanc's IndexDirectory)."""
    from kerma.config import Settings

    checked = 0
    for row_keys, defaults, _ in config_rows():
        if len(defaults) != len(row_keys):
            continue  # no default, or an abbreviated list
        for key, text in zip(row_keys, defaults):
            try:
                value = json.loads(text)
            except ValueError:
                value = text
            orthanc = {"IndexDirectory": "/srv/orthanc-index"}
            if isinstance(value, str):
                value = value.replace("<IndexDirectory>", orthanc["IndexDirectory"])
            assert Settings.from_orthanc({**orthanc, "Kerma": {key: value}}) == Settings.from_orthanc(orthanc), \
                f"README says {key} defaults to {text}, the settings parser does otherwise"
            checked += 1
    assert checked >= 10


def test_shipped_kerma_json_sets_only_known_settings():
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_config import load_template

    shipped = load_template(ROOT / "orthanc-config" / "kerma.json")["Kerma"]
    assert sorted(set(shipped) - settings_keys()) == []


def test_readme_start_variables_are_the_ones_start_sh_reads():
    start = (ROOT / "scripts" / "start.sh").read_text()
    read = {name: default.replace("$REPO/", "") for name, default in re.findall(r"\$\{(KERMA_[A-Z_]+):?-([^}]*)\}", start)}
    (table,) = readme_tables("variable", "default", "meaning")
    documented = {}
    for row in table:
        names, defaults = code_spans(row[0]), code_spans(row[1])
        for i, name in enumerate(names):
            documented[name] = defaults[i] if len(defaults) == len(names) else ""
    assert sorted(set(read) - set(documented)) == [], "start.sh variables with no row in the README's variable table"
    assert sorted(set(documented) - set(read)) == [], "README variable rows that start.sh does not read"
    assert {n: (documented[n], read[n]) for n in read if documented[n] != read[n]} == {}, "(README, start.sh) defaults"


def test_the_database_default_is_kerma_sqlite_in_orthancs_index_folder(tmp_path):
    """start.sh's configuration (make_config.py without --database-url) leaves Kerma's default in force, and that
    default is the README's."""
    from kerma.config import Settings

    sys.path.insert(0, str(ROOT / "scripts"))
    from make_config import main

    main([str(tmp_path / "config"), "--storage-dir", str(tmp_path / "orthanc")])
    merged = {}
    for path in (tmp_path / "config").glob("*.json"):
        merged.update(json.loads(path.read_text()))
    assert Settings.from_orthanc(merged).database_url == f"sqlite:///{tmp_path}/orthanc/index/kerma.sqlite"
    ((default,),) = [d for keys, d, _ in config_rows() if keys == ["DatabaseUrl"]]
    assert default == "sqlite:///<IndexDirectory>/kerma.sqlite"
