"""The one vocabulary: every quantity Kerma knows, as data (``data/quantities.csv``).

A quantity is a numeric field of a record or of a study, its unit in its name (``ctdivol_mGy``,
``total_dlp_mGycm``).  Its row says how people call it and read it (label, unit, decimals, a plain
description and where the definition comes from), where it lives (``level``: one irradiation event, a
study's resolved total, one report's totals, the patient), how values combine (``aggregate``), where
statistics read it (an ORM column, or a key of a JSON document), whether the month table keeps it and the
reports show it, and which values are plausible.  Storage, statistics, alerts, reports, exports, the
extractor's plausibility screen and the UI (``GET quantities``) all read this table, so a new quantity is
one row.

The lowest layer: imports nothing of Kerma.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("data") / "quantities.csv"

EXPOSURE, EXAM, REPORT, PATIENT = "exposure", "exam", "report", "patient"
LEVELS = (EXPOSURE, EXAM, REPORT, PATIENT)
STATISTICS_LEVELS = (EXPOSURE, EXAM)  # statistics per counted event, per study
COLUMN, DETAILS = "column", "details"  # where statistics read a quantity (see Quantity.statistics)
CONTRAST = "contrast"  # the kind of the contrast media quantities: no radiation dose (see Quantity.is_radiation)
FAMILIES = ("CT", "DX", "MG", "RF", "NM")


class UnknownQuantity(ValueError):
    """A name that is not a quantity statistics can use."""


@dataclass(frozen=True, slots=True)
class Plausible:
    """The values a record may hold for a quantity, and why (bounds included; None: no bound on that side)."""

    low: float | None
    high: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class Quantity:
    """One row of ``data/quantities.csv``.

    Attributes
    ----------
    key : str
        The field name, its unit in the name (``ctdivol_mGy``).
    label : str
        How people call it (``CTDIvol``); several keys may share a label at different levels (``DLP``).
    unit, unit_display : str
        UCUM as the concept tables write it (``mGy.cm``; ``1`` for a pure number), and as people read it
        (``mGy·cm``; empty for a pure number).
    level : str
        ``exposure`` (a value of one irradiation event), ``exam`` (a study's resolved total), ``report`` (a value
        one report states: its totals) or ``patient``.
    families : tuple of str
        The dose families it applies to (``CT``, ``DX``, ``MG``, ``RF``, ``NM``); empty: every family.
    kind : str
        ``dose``, ``technique``, ``geometry``, ``time``, ``count``, ``patient`` or ``contrast`` (contrast media).
    aggregate : str or None
        How values combine over a series of events or several reports: ``sum`` or ``max``.
    decimals : int
        Digits after the point when shown in a table.
    statistics : str or None
        Where statistics read it: ``column`` (the ORM column of that name: ``IrradiationEvent`` at exposure
        level, ``Study`` at exam level) or ``details`` (the event's ``details`` JSON; a study's resolved totals
        under :attr:`record_total`); None when it is not a statistic of its own.
    record_total : str or None
        For an exam quantity: the record's totals field it is resolved from (``ct_dlp_total_mGycm``).
    summarised, reported : bool
        Kept per month in the month table (:mod:`kerma.stats.monthly`); shown in the periodic reports.
    plausible : Plausible or None
        The values a record may hold (:mod:`kerma.extract.plausible`); None: only non-finite numbers are refused.
    description : str
        One plain sentence: what it is and what it is not.
    source : str
        Its definition or where the value comes from (DICOM codes and attributes, standards).
    """

    key: str
    label: str
    unit: str
    unit_display: str
    level: str
    families: tuple[str, ...]
    kind: str
    aggregate: str | None
    decimals: int
    statistics: str | None
    record_total: str | None
    summarised: bool
    reported: bool
    plausible: Plausible | None
    description: str
    source: str

    @property
    def is_dose(self) -> bool:
        """Part of an object's dose content (an object whose every dose value is refused is an error)."""
        return self.kind == "dose"

    @property
    def is_statistic(self) -> bool:
        """Statistics can use it (per counted event or per study); DRLs and alert rules too when :attr:`is_radiation`."""
        return self.level in STATISTICS_LEVELS and self.statistics is not None

    @property
    def is_radiation(self) -> bool:
        """A value of the irradiation (a dose, its technique or geometry), which DRLs, achievable doses and alert rules
        may compare; contrast media are no radiation dose: their statistics and exports, never a DRL or a dose alert."""
        return self.kind != CONTRAST

    def as_json(self) -> dict:
        """The row as ``GET quantities`` answers it."""
        return {
            "key": self.key, "label": self.label, "unit": self.unit, "unit_display": self.unit_display,
            "level": self.level, "families": list(self.families), "kind": self.kind, "aggregate": self.aggregate,
            "decimals": self.decimals, "statistic": self.is_statistic, "radiation": self.is_radiation,
            "summarised": self.summarised, "reported": self.reported, "record_total": self.record_total,
            "plausible": None if self.plausible is None else {
                "min": self.plausible.low, "max": self.plausible.high, "reason": self.plausible.reason},
            "description": self.description, "source": self.source,
        }


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def _number(text: str) -> float | None:
    return float(text) if text else None


@lru_cache(maxsize=1)
def table() -> dict[str, Quantity]:
    """Every quantity by key, in the table's order (read once)."""
    rows = _rows(TABLE)
    by_key = {r["key"]: r for r in rows}
    if len(by_key) != len(rows):
        raise ValueError(f"{TABLE.name}: a key is listed twice")

    def reason(row: dict) -> str:  # "as ctdivol_mGy": that row's reason
        text = row["plausible_reason"]
        other = by_key.get(text[3:]) if text.startswith("as ") else None
        return other["plausible_reason"] if other else text

    out = {}
    for r in rows:
        if r["level"] not in LEVELS:
            raise ValueError(f"{TABLE.name}: {r['key']}: unknown level {r['level']!r}")
        if r["statistics"] not in ("", COLUMN, DETAILS):
            raise ValueError(f"{TABLE.name}: {r['key']}: statistics must be column, details or empty")
        families = tuple(f for f in r["families"].split(";") if f)
        if set(families) - set(FAMILIES):
            raise ValueError(f"{TABLE.name}: {r['key']}: unknown family in {r['families']!r}")
        plausible = Plausible(_number(r["plausible_min"]), _number(r["plausible_max"]), reason(r)) if r["plausible_reason"] else None
        out[r["key"]] = Quantity(
            key=r["key"], label=r["label"], unit=r["unit"], unit_display=r["unit_display"], level=r["level"],
            families=families, kind=r["kind"], aggregate=r["aggregate"] or None, decimals=int(r["decimals"] or 0),
            statistics=r["statistics"] or None, record_total=r["record_total"] or None,
            summarised=r["summarised"] == "yes", reported=r["reported"] == "yes", plausible=plausible,
            description=r["description"], source=r["source"],
        )
    return out


_VIEWS = []  # the functions below that cache a view of the table: reload() clears them with it


def _view(function):
    cached = lru_cache(maxsize=None)(function)
    _VIEWS.append(cached)
    return cached


def reload() -> None:
    """Read the table again (tests that add a row; every view of it is derived again)."""
    table.cache_clear()
    for view in _VIEWS:
        view.cache_clear()


def get(key: str) -> Quantity | None:
    return table().get(key)


@_view
def of_level(level: str) -> tuple[Quantity, ...]:
    return tuple(q for q in table().values() if q.level == level)


def statistic(key: str) -> Quantity:
    """The quantity statistics, DRLs and alert thresholds can use; raises :class:`UnknownQuantity` for another name."""
    found = table().get(key)
    if found is None or not found.is_statistic:
        raise UnknownQuantity(
            f"unknown dose quantity {key!r}; exam level: {', '.join(q.key for q in exam_quantities())}; "
            f"exposure level: any measured event field, e.g. ctdivol_mGy, dap_Gycm2 (GET quantities lists them)")
    return found


def level_of(key: str) -> str:
    """``exam`` or ``exposure``: the level at which statistics take ``key`` (raises :class:`UnknownQuantity`)."""
    return statistic(key).level


@_view
def exam_quantities() -> tuple[Quantity, ...]:
    """The study totals statistics use (per study)."""
    return tuple(q for q in of_level(EXAM) if q.is_statistic)


@_view
def exposure_quantities() -> tuple[Quantity, ...]:
    """The event values statistics use (per counted event)."""
    return tuple(q for q in of_level(EXPOSURE) if q.is_statistic)


@_view
def contrast_quantities() -> tuple[Quantity, ...]:
    """The study totals of contrast media (no radiation dose): their statistics and exports, no DRL or alert."""
    return tuple(q for q in exam_quantities() if not q.is_radiation)


@_view
def summarised() -> tuple[Quantity, ...]:
    """The quantities whose month statistics are kept ready (:mod:`kerma.stats.monthly`)."""
    return tuple(q for q in table().values() if q.summarised and q.is_statistic)


@_view
def reported() -> tuple[Quantity, ...]:
    """The quantities the periodic reports show."""
    return tuple(q for q in table().values() if q.reported and q.is_statistic)


@_view
def plausible_ranges() -> dict[str, Quantity]:
    """The quantities with plausible bounds, by key (what :mod:`kerma.extract.plausible` screens)."""
    return {key: q for key, q in table().items() if q.plausible is not None}


@_view
def dose_keys() -> frozenset[str]:
    """The keys of dose quantities (an object without one of them holds no dose)."""
    return frozenset(key for key, q in table().items() if q.is_dose)


# units are in field names: the unit a name ends in, as people read it, for a key this table does not list (the
# occupational quantities of kerma/occupational, hp10_mSv)
NAME_UNITS = (("_mGycm", "mGy·cm"), ("_Gycm2", "Gy·cm²"), ("_mGy", "mGy"), ("_mSv", "mSv"), ("_MBq", "MBq"),
              ("_mAs", "mAs"), ("_mA", "mA"), ("_s", "s"), ("_mm", "mm"), ("kvp", "kV"))


def unit_of(key: str) -> str:
    """How people read the unit of ``key`` (``mGy·cm``): the table's, else the one its name ends in; empty for a
    pure number."""
    found = table().get(key)
    if found is not None:
        return found.unit_display
    return next((unit for suffix, unit in NAME_UNITS if key.endswith(suffix)), "")


def label_of(key: str) -> str:
    """How texts name ``key`` (``DLP``, ``CTDIvol``, ``Ka,r``); a name that is no quantity reads as its words."""
    found = table().get(key)
    return found.label if found else key.replace("_", " ")


def heading(key: str) -> str:
    """A quantity with its unit, as a column or an axis names it (``DLP (mGy·cm)``; ``pulses`` for a pure number)."""
    unit = unit_of(key)
    return f"{label_of(key)} ({unit})" if unit else label_of(key)


def aggregate_of(key: str) -> str:
    """How the values of ``key`` over a series of events combine: ``sum`` or ``max`` (the default)."""
    found = table().get(key)
    return (found.aggregate if found else None) or "max"
