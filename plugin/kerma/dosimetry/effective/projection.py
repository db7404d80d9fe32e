"""Radiography and fluoroscopy effective dose: DAP × conversion coefficient per examination and projection.

The coefficients are ``projection_dap_coefficients.csv``'s rows with a verified number; there are none shipped
(no primary text was reachable), so every event is "not estimated" with the reason until a physicist adds one.
Mammography is not estimated: its dose quantity is the breast's average glandular dose.
"""

from __future__ import annotations

from ..tables import pattern_rows
from .result import EventEstimate, refused
from .tables import DATA, usable

TABLE = DATA / "projection_dap_coefficients.csv"


def _row(examination: str | None, projection: str | None) -> dict | None:
    """The first row whose pattern is in the examination's words and whose projection is any or this one."""
    for pattern, row in pattern_rows(TABLE):
        if examination and pattern.search(examination) and row["projection"] in ("", projection or ""):
            return row
    return None


def estimate_event(index: int, event: dict, exam_region: str | None, conditions: set[str]) -> EventEstimate | None:
    """One exposure's E = DAP × coefficient, or its reason; None without a DAP."""
    dap = event.get("dap_Gycm2")
    if dap is None:
        return None
    known = dict(index=index, quantity="dap_Gycm2", value=None)
    why = refused(dap)
    if why is not None:
        return EventEstimate(category=None, coefficient=None, effective_dose_mSv=None, reason=why, **known)
    known["value"] = dap
    examination = exam_region or event.get("target_region")
    row = _row(examination, event.get("view") or event.get("acquisition_plane"))
    if row is None or not usable(row, "coefficient_mSv_per_Gycm2"):
        why = row["source"] if row else f"examination {examination or 'not stated'!r} not in the table"
        return EventEstimate(category=examination, coefficient=None, effective_dose_mSv=None,
                             reason=f"no verified DAP-to-effective-dose coefficient: {why}", **known)
    conditions.add("projection")
    k = float(row["coefficient_mSv_per_Gycm2"])
    return EventEstimate(category=row["examination"], coefficient=k, effective_dose_mSv=dap * k, source=row["source"],
                         **known)
