"""The kinds of per-device correction factor a physicist records, as data (``data/correction_kinds.csv``).

A factor of a ``statistics`` kind multiplies the fields its row names (a DAP calibration factor multiplies every DAP:
an event's, a report's totals, a study's total); statistics, DRL comparisons and alerts read the corrected values,
and the raw values stay as the device reported them.  A ``dosimetry`` factor (table and mattress transmission) is
used only by dose estimates.  The lowest layer: imports nothing of Kerma.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("data") / "correction_kinds.csv"
STATISTICS, DOSIMETRY = "statistics", "dosimetry"


@dataclass(frozen=True, slots=True)
class CorrectionKind:
    """One row of ``data/correction_kinds.csv``: a factor's name, the fields it multiplies, its bounds and source."""

    kind: str
    label: str
    quantities: tuple[str, ...]
    use: str
    low: float
    high: float
    description: str
    source: str

    @property
    def event_column(self) -> str | None:
        """The irradiation event's column holding the factor that applies to it (statistics kinds only)."""
        return f"{self.kind}_factor" if self.use == STATISTICS else None

    def as_json(self) -> dict:
        return {"kind": self.kind, "label": self.label, "quantities": list(self.quantities), "use": self.use,
                "min": self.low, "max": self.high, "description": self.description, "source": self.source}


@lru_cache(maxsize=1)
def kinds() -> dict[str, CorrectionKind]:
    """Every kind, in the table's order."""
    with TABLE.open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["kind"]: CorrectionKind(row["kind"], row["label"], tuple(q for q in row["quantities"].split(";") if q),
                                            row["use"], float(row["min"]), float(row["max"]), row["description"],
                                            row["source"]) for row in rows}


@lru_cache(maxsize=1)
def kind_by_field() -> dict[str, CorrectionKind]:
    """The statistics kind that multiplies each field (``dap_Gycm2`` -> the DAP calibration factor)."""
    return {field: kind for kind in kinds().values() if kind.use == STATISTICS for field in kind.quantities}


def event_columns() -> tuple[str, ...]:
    """The factor columns of an irradiation event, one per statistics kind (``dap_factor``...)."""
    return tuple(kind.event_column for kind in kinds().values() if kind.event_column)
