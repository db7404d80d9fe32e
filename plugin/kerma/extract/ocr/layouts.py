"""Dose-screen layouts as data: ``data/layouts/<vendor family>.toml`` (the format is described atop ``ge.toml``).

A new screen layout is a new ``[[layout]]`` table (or file), never a code branch: the parser (:mod:`.parse`) and the
test generator (``tests/dose_screens.py``) both work from these objects.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

LAYOUT_DIR = Path(__file__).with_name("data") / "layouts"


@dataclass(frozen=True)
class Column:
    """A column of the screen's table: its heading, unit line, record field(s), cell format and printed words."""

    label: str
    fields: tuple[str, ...]
    format: str
    unit: str = ""
    decimals: tuple[int, ...] = ()
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    suffix_field: str | None = None
    suffixes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Total:
    """A total printed as ``label value [unit]``."""

    label: str
    field: str
    format: str
    decimals: tuple[int, ...] = ()
    unit: str = ""


@dataclass(frozen=True)
class Sum:
    """A total that is the sum of one event column (checked within the rounding of the printed digits)."""

    total: str
    of: str


@dataclass(frozen=True)
class Layout:
    name: str
    vendor: str
    title: str
    fonts: tuple[str, ...]
    columns: tuple[Column, ...]
    totals: tuple[Total, ...]
    sums: tuple[Sum, ...]
    source: str  # the file it came from

    @property
    def has_units_line(self) -> bool:
        return any(c.unit for c in self.columns)


def _column(raw: dict) -> Column:
    fields = tuple(raw["fields"]) if "fields" in raw else (raw["field"],)
    return Column(
        label=raw["label"], fields=fields, format=raw["format"], unit=raw.get("unit", ""),
        decimals=tuple(raw.get("decimals", ())), values=MappingProxyType(dict(raw.get("values", {}))),
        suffix_field=raw.get("suffix_field"), suffixes=MappingProxyType(dict(raw.get("suffixes", {}))),
    )


def _layout(raw: dict, source: str) -> Layout:
    return Layout(
        name=raw["name"], vendor=raw["vendor"], title=raw["title"], fonts=tuple(raw["fonts"]),
        columns=tuple(_column(c) for c in raw["columns"]),
        totals=tuple(Total(t["label"], t["field"], t["format"], tuple(t.get("decimals", ())), t.get("unit", ""))
                     for t in raw.get("totals", [])),
        sums=tuple(Sum(s["total"], s["of"]) for s in raw.get("sums", [])),
        source=source,
    )


def read_layouts(folder: Path) -> tuple[Layout, ...]:
    """Every layout of every ``*.toml`` file in ``folder``, in file name order."""
    out = []
    for path in sorted(folder.glob("*.toml")):
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        out.extend(_layout(raw, path.name) for raw in data.get("layout", []))
    return tuple(out)


@lru_cache(maxsize=None)
def layouts() -> tuple[Layout, ...]:
    """The shipped layouts."""
    return read_layouts(LAYOUT_DIR)
