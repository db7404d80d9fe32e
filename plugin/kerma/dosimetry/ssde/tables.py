"""The SSDE model's reference data in ``data/``: CSV files, each row with its source.

Two are the project's shared reference tables as they are (``../shared/reference``; a test checks that they stay
equal): ``ssde_conversion_coefficients.csv`` (the exponential fits f(D) = a·exp(−b·D) of AAPM Reports 204 and 293)
and ``aapm204_effective_diameter_lookup.csv`` (AAPM 204's effective diameter from one dimension or from age).
``uncertainty_components.csv`` is Kerma's own, each row saying where its number comes from.

A row whose ``verification`` says it was only transcribed by a third party (``secondary_…``, ``recollection…``,
``unverified…``) is not used unless asked for (``allow_unverified``), and a result that uses one says so.
"""

from __future__ import annotations

from pathlib import Path

from ..tables import read_rows

DATA = Path(__file__).with_name("data")
COEFFICIENTS = "ssde_conversion_coefficients.csv"
LOOKUP = "aapm204_effective_diameter_lookup.csv"
UNCERTAINTY = "uncertainty_components.csv"

_UNVERIFIED_PREFIXES = ("secondary_", "recollection", "unverified")


def rows(name: str) -> tuple[dict, ...]:
    """The rows of ``data/<name>``."""
    return read_rows(DATA / name)


def verified(row: dict) -> bool:
    """False for a number seen only in a third party's copy (the reference README's rule)."""
    return not row.get("verification", "").strip().startswith(_UNVERIFIED_PREFIXES)
