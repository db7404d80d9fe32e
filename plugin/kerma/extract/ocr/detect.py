"""Is this object a dose screen?  Decided from header attributes alone (``data/screen_conventions.csv``).

Ordinary images never have their pixels decoded: only an object whose SOP class may hold a screen and whose
Image Type, series number and description, burned-in annotation... add up to its class's threshold goes to OCR.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

CONVENTIONS = Path(__file__).with_name("data") / "screen_conventions.csv"
# the attributes the conventions read, with their tags (for readers that index by tag)
ATTRIBUTES = {
    "SOPClassUID": 0x00080016,
    "ImageType": 0x00080008,
    "SeriesNumber": 0x00200011,
    "SeriesDescription": 0x0008103E,
    "BurnedInAnnotation": 0x00280301,
    "Manufacturer": 0x00080070,
    "ManufacturerModelName": 0x00081090,
    "Modality": 0x00080060,
}


@dataclass(frozen=True)
class Sign:
    attribute: str
    test: str      # equals | contains (case-insensitive) | has (one of a multi-valued attribute's values)
    value: str
    points: int
    gate: bool     # a SOP class that may hold a screen; points = what its other signs must add up to
    meaning: str

    def holds(self, header: Mapping[str, object]) -> bool:
        raw = header.get(self.attribute)
        if raw is None:
            return False
        values = [str(v).strip().upper() for v in (raw if isinstance(raw, (list, tuple)) else str(raw).split("\\"))]
        want = self.value.upper()
        if self.test == "equals":
            return any(v == want for v in values)
        if self.test == "has":
            return want in values
        if self.test == "contains":
            return want in "\\".join(values)
        raise ValueError(f"unknown test {self.test!r} in {CONVENTIONS.name}")


@lru_cache(maxsize=None)
def signs() -> tuple[Sign, ...]:
    with open(CONVENTIONS, newline="", encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        out = []
        for r in rows:
            gate = r["points"].startswith("gate ")
            out.append(Sign(r["attribute"], r["test"], r["value"], int(r["points"].removeprefix("gate ")), gate, r["meaning"]))
        return tuple(out)


def is_dose_screen(header: Mapping[str, object]) -> str | None:
    """Why the object is a dose screen (the signs found), or None when it is not one.

    Parameters
    ----------
    header : mapping
        DICOM keyword -> value (``SOPClassUID``, ``ImageType`` as a list or backslash-joined, ``SeriesNumber``,
        ``SeriesDescription``, ``BurnedInAnnotation``...); absent keywords are absent signs.
    """
    gates = [s for s in signs() if s.gate and s.holds(header)]
    if not gates:
        return None
    found = [s for s in signs() if not s.gate and s.holds(header)]
    if sum(s.points for s in found) < gates[0].points:
        return None
    named = "; ".join(f"{s.attribute} {s.test} {s.value!r} ({s.meaning})" for s in found)
    return f"dose screen ({gates[0].meaning}): {named}"


def header_of(dataset) -> dict[str, object]:
    """The attributes :func:`is_dose_screen` reads, from a pydicom Dataset or Kerma's fast reader's object."""
    if hasattr(dataset, "elements"):  # kerma.extract.dicomfile.DicomObject
        return {k: dataset.text(dataset.elements, tag) for k, tag in ATTRIBUTES.items()}
    return {k: dataset.get(k) for k in ATTRIBUTES}
