"""The fields an acceptance check expects of each dose family, as data (``data/key_fields.csv``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("data") / "key_fields.csv"
EVENT, REPORT = "event", "report"


@dataclass(frozen=True, slots=True)
class KeyField:
    family: str
    level: str  # event: a field of each irradiation event; report: a report's totals
    field: str
    why: str


@lru_cache(maxsize=1)
def key_fields() -> tuple[KeyField, ...]:
    with TABLE.open(encoding="utf-8") as handle:
        return tuple(KeyField(**row) for row in csv.DictReader(line for line in handle if not line.startswith("#")))


def of_family(family: str | None) -> tuple[KeyField, ...]:
    return tuple(k for k in key_fields() if k.family == family)
