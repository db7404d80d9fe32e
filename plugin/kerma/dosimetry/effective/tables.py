"""The effective dose models' reference data in ``data/``: CSV files, each row with its source.

``ct_dlp_to_effective_dose_k_factors.csv`` is the project's shared reference table as it is (a test checks that
it stays equal to ``../shared/reference``); ``ct_k_factor_set.csv`` says which of its rows are used. The others
are Kerma's own, each row citing where its number was read: ``ct_regions.csv``, ``ct_age_groups.csv``,
``nm_dose_coefficients.csv``, ``projection_dap_coefficients.csv``, ``uncertainty_components.csv``.
"""

from __future__ import annotations

from pathlib import Path

from ..tables import first_match as _first_match
from ..tables import read_rows

DATA = Path(__file__).with_name("data")
# the reference README's verification values for a number read in the official or peer-reviewed text
VERIFIED = {"primary_text_seen", "primary_abstract_seen", "peer_reviewed_table_seen",
            "peer_reviewed_reproduction_seen"}


def rows(name: str) -> tuple[dict, ...]:
    return read_rows(DATA / name)


def first_match(name: str, *texts: str | None) -> dict | None:
    """The first row of ``data/<name>`` whose pattern is found in the texts joined; None when none matches."""
    return _first_match(DATA / name, *texts)


def usable(row: dict, column: str) -> bool:
    """A row with a number in ``column`` that was read in a primary or peer-reviewed text."""
    return bool(row.get(column, "").strip()) and row.get("verification", "").strip() in VERIFIED
