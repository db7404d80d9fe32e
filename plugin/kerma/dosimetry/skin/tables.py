"""The skin-dose model's reference data in ``data/``: CSV files, each row with its source.

Three of them are the project's shared reference tables as they are (``../shared/reference``; a test checks that
they stay equal): ``skin_dose_model.csv`` (the chain of correction factors), ``skin_backscatter_bsf_coefficients.csv``
(Benmakhlouf et al. 2013, eq. 8) and ``skin_backscatter_mu_en_table.csv`` (backscatter factors, HVLs and
mass energy-absorption coefficient ratios per beam quality). The others are Kerma's own, each row citing where its
number comes from: ``geometry_defaults.csv``, ``plausible_ranges.csv``, ``reference_points.csv``,
``uncertainty_components.csv``.
"""

from __future__ import annotations

from pathlib import Path

from ..tables import index_rows, read_rows

DATA = Path(__file__).with_name("data")


def rows(name: str) -> tuple[dict, ...]:
    """The rows of ``data/<name>`` (lines starting with ``#`` are comments)."""
    return read_rows(DATA / name)


def by_name(name: str, key: str = "name") -> dict[str, dict]:
    """``rows(name)`` indexed by the column ``key``."""
    return index_rows(DATA / name, key)
