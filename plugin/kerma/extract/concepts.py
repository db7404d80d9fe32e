"""Loads the concept tables in ``data/``: which SR items Kerma reads and how coded values are labelled."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("data")


@dataclass(frozen=True, slots=True)
class ConceptRow:
    role: str
    scope: str
    within: tuple[str, str] | None
    code: tuple[str, str]
    field: str
    unit: str | None
    meaning: str = ""


def _rows(name: str):
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(line for line in fh if not line.startswith("#"))


class ConceptTable:
    """Index of ``rdsr_concepts.csv`` by role, scope and code."""

    def __init__(self, rows: list[ConceptRow]):
        self.reports = {r.code: r.field for r in rows if r.role == "report"}
        self.events = {r.code: r.field for r in rows if r.role == "event"}
        self.accumulated = {r.code: r.field for r in rows if r.role == "accumulated"}
        self.groups = {(r.scope, r.code): r.field for r in rows if r.role == "group"}
        self.values: dict[tuple[str, tuple[str, str] | None, tuple[str, str]], ConceptRow] = {
            (r.scope, r.within, r.code): r for r in rows if r.role == "value"
        }

    def value(self, scope: str, container: tuple[str, str] | None, code: tuple[str, str]) -> ConceptRow | None:
        return self.values.get((scope, container, code)) or self.values.get((scope, None, code))


@lru_cache(maxsize=1)
def concept_table() -> ConceptTable:
    rows = []
    for r in _rows("rdsr_concepts.csv"):
        within = tuple(r["within"].split(":", 1)) if r["within"] else None
        rows.append(ConceptRow(r["role"], r["scope"], within, (r["scheme"], r["code"]), r["field"], r["unit"] or None,
                               r["meaning"]))
    return ConceptTable(rows)


@lru_cache(maxsize=1)
def value_labels() -> dict[tuple[str, str], str | None]:
    """Fixed labels of coded values; an empty label means the code carries no usable value."""
    return {(r["scheme"], r["code"]): r["label"] or None for r in _rows("value_labels.csv")}


@dataclass(frozen=True, slots=True)
class HeaderRow:
    scope: str
    tag: int
    keyword: str
    field: str
    dicom_unit: str | None  # UCUM, or "label" / "code" / "datetime" for how to read a non-numeric value
    unit: str | None
    implausible_below: float | None = None
    read_as: str | None = None

    @property
    def is_measurement(self) -> bool:
        return self.unit is not None


@lru_cache(maxsize=1)
def header_rows() -> tuple[HeaderRow, ...]:
    """``header_attributes.csv`` and ``private_attributes.csv`` (private rows have negative placeholder tags)."""
    from pydicom.datadict import tag_for_keyword

    rows = []
    for r in _rows("header_attributes.csv"):
        tag = tag_for_keyword(r["keyword"])
        if tag is None:
            raise ValueError(f"header_attributes.csv: unknown DICOM keyword {r['keyword']}")
        below = float(r["implausible_below"]) if r["implausible_below"] else None
        rows.append(HeaderRow(r["scope"], tag, r["keyword"], r["field"], r["dicom_unit"] or None, r["unit"] or None,
                              below, r["read_as"] or None))
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class PrivateRow:
    scope: str
    creator: str
    group: int
    offset: int
    field: str
    dicom_unit: str
    unit: str


@lru_cache(maxsize=1)
def private_rows() -> tuple[PrivateRow, ...]:
    return tuple(
        PrivateRow(r["scope"], r["creator"], int(r["group"], 16), int(r["offset"], 16), r["field"], r["dicom_unit"], r["unit"])
        for r in _rows("private_attributes.csv")
    )


@lru_cache(maxsize=1)
def event_fields() -> dict[str, bool]:
    """Scalar event fields of every source, each mapped to whether it is a measurement (has a unit)."""
    fields: dict[str, bool] = {}
    for (scope, _, _), row in concept_table().values.items():
        if scope == "event" and row.field not in fields:
            fields[row.field] = row.unit is not None
    for row in (*header_rows(), *private_rows()):
        if row.scope not in CONTRAST_SCOPES:  # a contrast administration is the study's, not an event's
            fields.setdefault(row.field, row.unit is not None)
    fields.update(dict.fromkeys(AGGREGATE_FIELDS, True))
    return fields


# header_attributes.csv scopes of contrast media (kerma.extract.contrast): the image's Contrast/Bolus module, the items
# of its Contrast/Bolus Agent Sequence and of their Contrast Administration Profile Sequence
CONTRAST_SCOPES = ("contrast", "contrast_agent", "contrast_profile")

# statistics of an acquisition read from per-slice CT headers (see kerma.dose.aggregate)
AGGREGATE_FIELDS = ("ctdivol_min_mGy", "ctdivol_max_mGy", "z_start_mm", "z_end_mm", "slice_count", "copies")
