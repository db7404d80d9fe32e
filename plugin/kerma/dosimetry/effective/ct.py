"""CT effective dose: DLP × k per body region, age group and tube voltage (ICRP 103 k-factors, one verified set).

The k-factor is the row of ``ct_dlp_to_effective_dose_k_factors.csv`` in the set named by ``ct_k_factor_set.csv``
(Lee et al. 2012, ICRP 103) for the event's region (``ct_regions.csv``: target region, protocol or the study's
standard exam name), the patient's age group (``ct_age_groups.csv``) and the tabulated tube voltage nearest the
event's. The DLP must be stated in the CTDI phantom the set assumes (16 cm head, 32 cm body).
"""

from __future__ import annotations

from dataclasses import dataclass

from .result import EventEstimate, refused
from .tables import first_match, rows, usable

K_FACTORS = "ct_dlp_to_effective_dose_k_factors.csv"


@dataclass(frozen=True)
class CtContext:
    """What the CT estimate knows of the study: the patient's age and an exam-level region text (or None)."""

    age_years: float | None
    exam_region: str | None = None


def _set() -> dict:
    (chosen,) = rows("ct_k_factor_set.csv")
    return chosen


def age_group(age_years: float | None) -> tuple[str, bool]:
    """The set's age group for an age, and whether it was assumed (no age: adult)."""
    groups = rows("ct_age_groups.csv")
    if age_years is None:
        return groups[-1]["age_group"], True
    for g in groups:
        if float(g["age_min_years"]) <= age_years < float(g["age_max_years"]):
            return g["age_group"], False
    return groups[-1]["age_group"], False


def k_factor(region: str, group: str, kvp: float | None) -> tuple[dict | None, bool]:
    """The verified row for region, age group and the nearest tabulated kV; and whether kV was outside / absent."""
    chosen = _set()
    candidates = [r for r in rows(K_FACTORS) if r["source_set"] == chosen["source_set"]
                  and r["icrp_weighting"] == chosen["icrp_weighting"] and r["body_region"] == region
                  and r["age_group"] == group and usable(r, "k_mSv_per_mGycm")]
    if not candidates:
        return None, False
    voltages = sorted({float(r["kvp"]) for r in candidates})
    target = 120.0 if kvp is None else kvp
    nearest = min(voltages, key=lambda v: abs(v - target))
    outside = kvp is None or not voltages[0] - 5 <= kvp <= voltages[-1] + 5
    return next(r for r in candidates if float(r["kvp"]) == nearest), outside


def estimate_event(index: int, event: dict, context: CtContext, conditions: set[str]) -> EventEstimate | None:
    """One CT acquisition's E = DLP × k, or its reason; None for an event without DLP (nothing to estimate).

    ``conditions`` collects what the estimate assumed (for the uncertainty).
    """
    dlp = event.get("dlp_mGycm")
    if dlp is None:
        return None
    known = dict(index=index, quantity="dlp_mGycm", value=None)
    why = refused(dlp)
    if why is not None:
        return EventEstimate(category=None, coefficient=None, effective_dose_mSv=None, reason=why, **known)
    known["value"] = dlp
    words = " ".join(str(event.get(k) or "") for k in ("target_region", "protocol")).strip()
    mapped = first_match("ct_regions.csv", context.exam_region) or first_match("ct_regions.csv", words)
    if mapped is None:
        return EventEstimate(category=None, coefficient=None, effective_dose_mSv=None,
                             reason=f"body region {words or 'not stated'!r} not known to the k-factor table", **known)
    region = mapped["region"]
    if not region:
        return EventEstimate(category=None, coefficient=None, effective_dose_mSv=None, reason=mapped["note"], **known)
    group, assumed_age = age_group(context.age_years)
    chosen = _set()
    wanted = chosen["head_phantom"] if region == "Head" else chosen["body_phantom"]
    phantom = event.get("phantom")
    if phantom is None:
        conditions.add("ct_phantom_assumed")
    elif phantom != wanted:
        return EventEstimate(category=region, coefficient=None, effective_dose_mSv=None,
                             reason=f"DLP in the {phantom} phantom; the k-factors are per DLP in the {wanted} phantom",
                             **known)
    row, outside = k_factor(region, group, event.get("kvp"))
    if row is None:
        return EventEstimate(category=f"{region}, {group}", coefficient=None, effective_dose_mSv=None,
                             reason="no verified k-factor for this region and age", **known)
    conditions.add("age_assumed" if assumed_age else "ct_adult" if group.startswith("adult") else "ct_child")
    if outside:
        conditions.add("ct_kvp_outside")
    k = float(row["k_mSv_per_mGycm"])
    return EventEstimate(category=f"{region}, {group}, {row['kvp']} kV", coefficient=k, effective_dose_mSv=dlp * k,
                         source=row["source"], **known)
