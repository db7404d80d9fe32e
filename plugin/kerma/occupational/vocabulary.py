"""The words and numbers of occupational dosimetry, read once from ``data/``: positions, units, quantities, the
estimate methods with their sources, and the terms reports use for them (``terms.csv``).

Nothing here touches the database; the import, the summaries and the alert rules all read these tables.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("data")
READING_QUANTITIES = ("hp10_mSv", "hp007_mSv", "hp3_mSv")  # what a dosimeter reads, the columns of dose_reading
WINDOWS = ("calendar_year", "rolling_12_months")  # the periods a dose limit or investigation level is about
FIELDS = ("staff_id", "name", "department", "period", "period_start", "period_end", "position", "dosimeter_id", "unit")


def _rows(name: str) -> list[dict]:
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


@dataclass(frozen=True)
class Position:
    code: str
    label: str
    region: str
    apron: str | None
    side: str | None
    description: str


@dataclass(frozen=True)
class Quantity:
    key: str
    label: str
    level: str  # reading (what a dosimeter reads) or person (estimated per person and period)
    plausible_max: float | None
    plausible_reason: str | None
    description: str


@dataclass(frozen=True)
class EffectiveMethod:
    """E = Σ coefficient × Hp(10) of the positions, in order (``data/effective_dose_methods.csv``)."""

    code: str
    kind: str  # two_dosimeter (a site's choice) or single
    name: str
    positions: tuple[str, ...]
    coefficients: tuple[float, ...]
    source: str
    verification: str
    uncertainty: str


@dataclass(frozen=True)
class LensMethod:
    code: str
    name: str
    position: str
    quantity: str
    source: str
    verification: str


@lru_cache(maxsize=1)
def positions() -> dict[str, Position]:
    return {r["code"]: Position(r["code"], r["label"], r["region"], r["apron"] or None, r["side"] or None,
                                r["description"]) for r in _rows("positions.csv")}


@lru_cache(maxsize=1)
def units() -> dict[str, float]:
    """Unit → factor to mSv."""
    return {r["unit"]: float(r["to_mSv"]) for r in _rows("units.csv")}


@lru_cache(maxsize=1)
def quantities() -> dict[str, Quantity]:
    return {r["key"]: Quantity(r["key"], r["label"], r["level"], float(r["plausible_max"]) if r["plausible_max"] else None,
                               r["plausible_reason"] or None, r["description"]) for r in _rows("quantities.csv")}


def person_quantities() -> tuple[str, ...]:
    """The quantities estimated per person (what an occupational alert rule watches)."""
    return tuple(k for k, q in quantities().items() if q.level == "person")


@lru_cache(maxsize=1)
def effective_methods() -> dict[str, EffectiveMethod]:
    return {r["code"]: EffectiveMethod(r["code"], r["kind"], r["name"], tuple(r["positions"].split()),
                                       tuple(float(c) for c in r["coefficients"].split()), r["source"],
                                       r["verification"], r["uncertainty"]) for r in _rows("effective_dose_methods.csv")}


def two_dosimeter_methods() -> tuple[str, ...]:
    """The double-dosimetry algorithms a site may choose (the first is the default)."""
    return tuple(code for code, m in effective_methods().items() if m.kind == "two_dosimeter")


@lru_cache(maxsize=1)
def lens_methods() -> tuple[LensMethod, ...]:
    return tuple(LensMethod(r["code"], r["name"], r["position"], r["quantity"], r["source"], r["verification"])
                 for r in _rows("lens_dose_methods.csv"))


@lru_cache(maxsize=1)
def terms() -> dict[str, list[tuple[str, str]]]:
    """kind → [(value, normalised term)], longest terms first (so ``under apron`` wins over ``under``)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for r in _rows("terms.csv"):
        out.setdefault(r["kind"], []).append((r["value"], normalise(r["term"])))
    return {kind: sorted(items, key=lambda item: -len(item[1])) for kind, items in out.items()}


_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")
_NOT_WORD = re.compile(r"[^a-z0-9.]+")


def normalise(text: str) -> str:
    """Lower case, accents dropped, µ as u, a decimal comma as a point, other punctuation as spaces."""
    text = text.replace("µ", "u").replace("μ", "u").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _NOT_WORD.sub(" ", _DECIMAL_COMMA.sub(".", text))
    return " ".join(part.strip(".") or part for part in text.split())


def find(kind: str, text: str) -> str | None:
    """The value of the longest ``kind`` term found as whole words in the normalised ``text``, else None."""
    padded = f" {text} "
    for value, term in terms().get(kind, []):
        if f" {term} " in padded:
            return value
    return None


def position_of(text: str) -> str | None:
    """The position a header or a report's value names (region, apron, side in ``terms.csv``), else None."""
    region, apron, side = find("region", text), find("apron", text), find("side", text)
    if region is None and apron is not None:
        region = "trunk" if apron == "under" else "collar"  # "over apron" alone is the collar dosimeter
    if region is None:
        return None
    if region == "collar":
        apron = "over"
    if region in ("eye", "extremity") and apron is not None:
        apron = None  # aprons cover neither
    if region != "extremity":
        side = None
    for code, position in positions().items():
        if (position.region, position.apron, position.side) == (region, apron, side):
            return code
    return None
