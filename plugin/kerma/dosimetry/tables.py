"""Reference tables of the dosimetry models: CSV files shipped beside each model, each row with its source.

Lines starting with ``#`` are comments (what the table is, how its numbers were checked); the first other line
is the header.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=None)
def read_rows(path: Path) -> tuple[dict, ...]:
    """The rows of the CSV file at ``path``, read once."""
    with open(path, newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(line for line in fh if not line.startswith("#")))


@lru_cache(maxsize=None)
def index_rows(path: Path, key: str) -> dict[str, dict]:
    """``read_rows(path)`` indexed by the column ``key``."""
    return {row[key]: row for row in read_rows(path)}


@lru_cache(maxsize=None)
def pattern_rows(path: Path) -> tuple[tuple[re.Pattern, dict], ...]:
    """The rows of a table with a ``pattern`` column (a Python regular expression), each with it compiled."""
    return tuple((re.compile(r["pattern"], re.I), r) for r in read_rows(path))


def first_match(path: Path, *texts: str | None) -> dict | None:
    """The first row of the table at ``path`` whose pattern is found in the texts joined (case ignored), or None."""
    text = " ".join(t for t in texts if t)
    if not text:
        return None
    return next((row for pattern, row in pattern_rows(path) if pattern.search(text)), None)
