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
        rows.append(ConceptRow(r["role"], r["scope"], within, (r["scheme"], r["code"]), r["field"], r["unit"] or None))
    return ConceptTable(rows)


@lru_cache(maxsize=1)
def value_labels() -> dict[tuple[str, str], str]:
    return {(r["scheme"], r["code"]): r["label"] for r in _rows("value_labels.csv")}


@lru_cache(maxsize=1)
def event_fields() -> dict[str, bool]:
    """Scalar event fields in table order, each mapped to whether it is a measurement (has a unit)."""
    fields: dict[str, bool] = {}
    for (scope, _, _), row in concept_table().values.items():
        if scope == "event" and row.field not in fields:
            fields[row.field] = row.unit is not None
    return fields
