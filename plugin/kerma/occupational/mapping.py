"""The column mapping of a dosimetry service's reports: which column holds what, in which unit and format.

:func:`propose` reads a report's header and a sample of its cells and proposes a mapping from the terms of
``data/terms.csv`` (English, German, French, Dutch): the person's identifier, name and department, the monitoring
period (one column, or start and end), the dosimeter's position, and every dose column with its quantity (Hp(10),
Hp(0.07), Hp(3)), unit (from the header, or a unit column) and position (from the header for reports with one column
per dosimeter, e.g. ``Hp(0,07) Finger [µSv]``, else the row's position column).  The user confirms or edits it; a
saved mapping is reused for the service's next report when its columns are still there.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from . import values, vocabulary
from .report_file import ReportFile

SAMPLE_ROWS = 200
DECIMALS = (".", ",")
# a dose column whose header names a body region but no quantity reads that region's usual quantity
REGION_QUANTITY = {"trunk": "hp10_mSv", "collar": "hp10_mSv", "eye": "hp3_mSv", "extremity": "hp007_mSv"}
SHORT_TERM = 4  # field terms shorter than this ("id", "to", "du") name a column only as its whole header


@dataclass(frozen=True)
class DoseColumn:
    """One column of doses: its quantity, the position of the dosimeter (None: the row's) and unit (None: the row's)."""

    column: str
    quantity: str
    position: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Mapping:
    """How to read one service's reports.  ``columns``: field → the header(s) holding it (a name may be two columns,
    last and first name); ``positions``: a report's own words for a position (normalised) → position code."""

    columns: dict[str, list[str]] = field(default_factory=dict)
    doses: list[DoseColumn] = field(default_factory=list)
    delimiter: str | None = None
    header_row: int | None = None
    decimal: str = "."
    date_format: str | None = None
    positions: dict[str, str] = field(default_factory=dict)
    default_position: str | None = None

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Mapping":
        fields = dict(data)
        fields["doses"] = [DoseColumn(**d) for d in data.get("doses") or []]
        fields["columns"] = {k: list(v) for k, v in (data.get("columns") or {}).items() if v}
        fields["positions"] = {vocabulary.normalise(k): v for k, v in (data.get("positions") or {}).items()}
        return cls(**fields)

    def column(self, name: str) -> str | None:
        """The first header mapped to the field ``name``."""
        return (self.columns.get(name) or [None])[0]

    def problems(self, header: list[str]) -> list[str]:
        """What keeps this mapping from reading a report with ``header``: each a sentence; empty when it can."""
        found, known = [], set(header)
        for name, columns in self.columns.items():
            if name not in vocabulary.FIELDS:
                found.append(f"{name}: not a field ({', '.join(vocabulary.FIELDS)})")
            found += [f"{name}: the report has no column {c!r}" for c in columns if c not in known]
        if not self.columns.get("staff_id"):
            found.append("staff_id: which column identifies the person?")
        if not self.columns.get("period") and not (self.columns.get("period_start") and self.columns.get("period_end")):
            found.append("period: map one period column, or the start and end of the period")
        if (self.columns.get("period_start") or self.columns.get("period")) and not self.date_format \
                and not self.columns.get("period"):
            found.append("date_format: how are the dates written?")
        if not self.doses:
            found.append("doses: no column of doses is mapped")
        seen = set()
        for d in self.doses:
            if d.column not in known:
                found.append(f"doses: the report has no column {d.column!r}")
            if d.quantity not in vocabulary.READING_QUANTITIES:
                found.append(f"doses: {d.column!r}: quantity must be one of {', '.join(vocabulary.READING_QUANTITIES)}")
            if d.unit is None and not self.columns.get("unit"):
                found.append(f"doses: {d.column!r}: in which unit ({', '.join(vocabulary.units())})?")
            elif d.unit is not None and d.unit not in vocabulary.units():
                found.append(f"doses: {d.column!r}: unit must be one of {', '.join(vocabulary.units())}")
            if d.position is None and not self.columns.get("position") and self.default_position is None:
                found.append(f"doses: {d.column!r}: where is the dosimeter worn (a position, a position column "
                             f"or default_position)?")
            for code in (d.position, self.default_position):
                if code is not None and code not in vocabulary.positions():
                    found.append(f"position {code!r}: not one of {', '.join(vocabulary.positions())}")
            key = (d.quantity, d.position)
            if key in seen:
                found.append(f"doses: two columns of {d.quantity} for {d.position or 'the row position'}")
            seen.add(key)
        found += [f"positions: {word!r} → {code!r}: not a position" for word, code in self.positions.items()
                  if code not in vocabulary.positions()]
        if self.decimal not in DECIMALS:
            found.append("decimal: '.' or ','")
        if self.date_format is not None and self.date_format not in values.DATE_FORMATS:
            found.append(f"date_format: one of {', '.join(values.DATE_FORMATS)}")
        return list(dict.fromkeys(found))

    def position_of(self, cell: str) -> str | None:
        """The position a report's position cell names: the mapping's own words first, then the vocabulary."""
        words = vocabulary.normalise(cell)
        return self.positions.get(words) or vocabulary.position_of(words)


@dataclass(frozen=True)
class Proposal:
    """A mapping proposed for a report, how each column was recognised, and what the user must confirm."""

    mapping: Mapping
    columns: list[dict]  # per header cell: {"column", "field" | "quantity"/"position"/"unit", "recognised"}
    notes: list[str]  # assumptions and ambiguities to confirm


def propose(report: ReportFile) -> Proposal:
    """A mapping for ``report`` from its header and cells (see the module's description)."""
    header = report.header
    columns, notes = [], []
    doses: list[DoseColumn] = []
    candidates: list[tuple[tuple[int, int], int, str]] = []  # (score, column index, field)
    for index, cell in enumerate(header):
        words = vocabulary.normalise(cell)
        described = _dose_column(cell, words)
        if described is not None:
            dose_column, recognised = described
            doses.append(dose_column)
            columns.append({"column": cell, "quantity": dose_column.quantity, "position": dose_column.position,
                            "unit": dose_column.unit, "recognised": recognised})
            continue
        columns.append({"column": cell, "field": None, "recognised": None})
        for value, term in vocabulary.terms()["field"]:
            if words == term:
                candidates.append(((2, len(term)), index, value))
            elif len(term) >= SHORT_TERM and f" {term} " in f" {words} ":
                candidates.append(((1, len(term)), index, value))
    chosen = _assign(candidates)
    mapped: dict[str, list[str]] = {}
    for index, (name, how) in sorted(chosen.items()):
        mapped.setdefault(name, []).append(header[index])
        columns[index].update(field=name, recognised=how)
    if mapped.get("position"):  # each row names its dosimeter: "Lens" is then its Hp(3), not an eye dosimeter
        doses = [DoseColumn(d.column, d.quantity, None, d.unit) for d in doses]
        for entry in columns:
            if "quantity" in entry:
                entry["position"] = None
    if mapped.get("period_start") and mapped.get("period_end"):
        mapped.pop("period", None)
    elif mapped.get("period"):
        mapped.pop("period_start", None), mapped.pop("period_end", None)
    decimal = _decimal(report, header, doses, notes)
    date_format = _date_format(report, header, mapped, notes)
    positions, default_position = _positions(report, header, mapped, doses, notes)
    mapping = Mapping(columns=mapped, doses=doses, delimiter=report.delimiter, header_row=report.header_row,
                      decimal=decimal, date_format=date_format, positions=positions, default_position=default_position)
    notes += mapping.problems(header)
    return Proposal(mapping, columns, notes)


def _dose_column(cell: str, words: str) -> tuple[DoseColumn, str] | None:
    quantity, unit = vocabulary.find("quantity", words), vocabulary.find("unit", words)
    position = vocabulary.position_of(words)
    if quantity is None and unit is not None and position is not None:
        region = vocabulary.positions()[position].region
        return DoseColumn(cell, REGION_QUANTITY[region], position, unit), "inferred from the body region and unit"
    if quantity is None:
        return None
    return DoseColumn(cell, quantity, position, unit), "words"


def _assign(candidates: list[tuple[tuple[int, int], int, str]]) -> dict[int, tuple[str, str]]:
    """Best matches first, each column one field and each field one column (a name may take two: last, first)."""
    chosen: dict[int, tuple[str, str]] = {}
    taken: dict[str, int] = {}
    for score, index, name in sorted(candidates, key=lambda c: (-c[0][0], -c[0][1], c[1])):
        if index in chosen or (taken.get(name, 0) >= (2 if name == "name" else 1)):
            continue
        chosen[index] = (name, "exact" if score[0] == 2 else "words")
        taken[name] = taken.get(name, 0) + 1
    return chosen


def _cells(report: ReportFile, header: list[str], column: str) -> list[str]:
    index = header.index(column)
    return [cells[index] for _, cells in report.records()[:SAMPLE_ROWS] if index < len(cells) and cells[index]]


def _decimal(report: ReportFile, header: list[str], doses: list[DoseColumn], notes: list[str]) -> str:
    cells = [c.lstrip("<").strip() for d in doses for c in _cells(report, header, d.column)]
    commas = sum(1 for c in cells if re.fullmatch(r"[+-]?\d*,\d+", c))
    points = sum(1 for c in cells if re.fullmatch(r"[+-]?\d*\.\d+", c))
    if commas and points:
        notes.append(f"decimal: {commas} doses are written with a comma and {points} with a point: confirm which "
                     "separator the report uses (the others will be refused)")
    if not commas and not points:  # whole numbers only: semicolon-separated files come from decimal-comma locales
        return "," if report.delimiter == ";" else "."
    return "," if commas > points else "."


def _date_format(report: ReportFile, header: list[str], mapped: dict, notes: list[str]) -> str | None:
    cells = [c for name in ("period_start", "period_end") for column in mapped.get(name, [])
             for c in _cells(report, header, column)]
    for column in mapped.get("period", []):
        for cell in _cells(report, header, column):
            cells += values.range_of(cell) or []
    if not cells:
        return None
    formats = values.date_formats_reading(cells)
    if not formats:
        notes.append("date_format: no known date format reads the period's dates; choose one")
        return None
    if len(formats) > 1:
        notes.append(f"date_format: the dates read as {' or as '.join(values.shown_format(f) for f in formats)}; "
                     f"{values.shown_format(formats[0])} is assumed: confirm it")
    return formats[0]


def _positions(report: ReportFile, header: list[str], mapped: dict, doses: list[DoseColumn],
               notes: list[str]) -> tuple[dict[str, str], str | None]:
    positions = {}
    for column in mapped.get("position", []):
        for cell in dict.fromkeys(_cells(report, header, column)):
            code = vocabulary.position_of(vocabulary.normalise(cell))
            if code is None:
                notes.append(f"positions: {cell!r} is not a position Kerma knows: map it to one of "
                             f"{', '.join(vocabulary.positions())}")
            else:
                positions[vocabulary.normalise(cell)] = code
    default = None
    if not mapped.get("position") and any(d.position is None for d in doses):
        default = "trunk"
        notes.append("default_position: the report names no position; 'trunk' (a whole-body dosimeter without an "
                     "apron) is assumed: change it if the dosimeters are worn under or over an apron")
    return positions, default
