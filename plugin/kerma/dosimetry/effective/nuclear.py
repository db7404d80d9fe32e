"""Nuclear medicine effective dose: administered activity × ICRP dose coefficient (mSv/MBq) per radiopharmaceutical.

Adult coefficients only (``nm_dose_coefficients.csv``, each read in a primary or peer-reviewed text); children,
other routes and radiopharmaceuticals without a verified coefficient are "not estimated", with the reason.
"""

from __future__ import annotations

from .result import EventEstimate, refused
from .tables import first_match, usable

ADULT_YEARS = 18.0


def estimate_event(index: int, event: dict, age_years: float | None, conditions: set[str]) -> EventEstimate | None:
    """One administration's E = activity × coefficient, or its reason; None without an administered activity."""
    activity = event.get("administered_activity_MBq")
    if activity is None:
        return None
    known = dict(index=index, quantity="administered_activity_MBq", value=None)
    why = refused(activity)
    if why is not None:
        return EventEstimate(category=None, coefficient=None, effective_dose_mSv=None, reason=why, **known)
    known["value"] = activity
    name = event.get("radiopharmaceutical")
    row = first_match("nm_dose_coefficients.csv", name, event.get("radionuclide"))
    if row is None:
        return EventEstimate(category=name, coefficient=None, effective_dose_mSv=None,
                             reason=f"no dose coefficient for {name or 'an unnamed radiopharmaceutical'!r}", **known)
    if not usable(row, "coefficient_mSv_per_MBq"):
        return EventEstimate(category=row["radiopharmaceutical"], coefficient=None, effective_dose_mSv=None,
                             reason=f"no verified dose coefficient for {row['radiopharmaceutical']}: {row['source']}",
                             **known)
    route = str(event.get("route") or "").lower()
    if route and row["route"] not in route:
        return EventEstimate(category=row["radiopharmaceutical"], coefficient=None, effective_dose_mSv=None,
                             reason=f"route {event.get('route')!r}: the coefficient is for {row['route']} administration",
                             **known)
    if age_years is not None and age_years < ADULT_YEARS:
        return EventEstimate(category=row["radiopharmaceutical"], coefficient=None, effective_dose_mSv=None,
                             reason=f"patient aged {age_years:g} y: only adult coefficients are verified here", **known)
    conditions.add("nm")
    if age_years is None:
        conditions.add("age_assumed")
    k = float(row["coefficient_mSv_per_MBq"])
    return EventEstimate(category=f"{row['radiopharmaceutical']} ({row['icrp_publication']}, adult)", coefficient=k,
                         effective_dose_mSv=activity * k, source=row["source"], **known)
