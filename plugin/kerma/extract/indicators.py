"""Vendor exposure indicators of radiographs (Fuji and Konica S value, Kodak/Carestream EI, Agfa lgM...).

Which attribute holds which vendor's indicator is data (``data/exposure_indicators.csv``, each row with its
citation), matched by the image's Manufacturer.  The value is kept with its vendor and name, apart from the
IEC 62494-1 exposure index (``exposure_index``): the scales differ and must not be mixed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

from .concepts import DATA
from .dicomfile import DicomObject, Element

MANUFACTURER = 0x00080070


@dataclass(frozen=True, slots=True)
class Indicator:
    vendor: str
    manufacturer: re.Pattern
    name: str
    tag: int


@lru_cache(maxsize=1)
def indicators() -> tuple[Indicator, ...]:
    """The enabled rows of ``exposure_indicators.csv``, in order."""
    from pydicom.datadict import tag_for_keyword

    rows = []
    with open(DATA / "exposure_indicators.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(line for line in fh if not line.startswith("#")):
            if r["enabled"] != "yes":
                continue
            tag = tag_for_keyword(r["attribute"])
            if tag is None:
                raise ValueError(f"exposure_indicators.csv: unknown DICOM keyword {r['attribute']!r} in an enabled row")
            rows.append(Indicator(r["vendor"], re.compile(r["manufacturer_pattern"], re.IGNORECASE), r["indicator"], tag))
    return tuple(rows)


def vendor_indicator(obj: DicomObject, ds: dict[int, Element]) -> dict:
    """``vendor_exposure_indicator`` with its ``_name`` and ``_vendor`` when the image carries its vendor's; else {}."""
    manufacturer = obj.text(ds, MANUFACTURER) or ""
    for indicator in indicators():
        if indicator.manufacturer.search(manufacturer):
            value = obj.number(ds, indicator.tag)
            if value is not None:
                return {"vendor_exposure_indicator": value, "vendor_exposure_indicator_name": indicator.name,
                        "vendor_exposure_indicator_vendor": indicator.vendor}
    return {}
