"""Effective dose of a study from its dose record: CT (DLP × k), nuclear medicine (activity × coefficient),
radiography and fluoroscopy (DAP × coefficient), each coefficient cited, with the uncertainty of the method.

    from kerma.dosimetry.effective import effective_dose
    estimate = effective_dose(record)                 # record: kerma.extract.extract(bytes)
    estimate.effective_dose_mSv, estimate.method, estimate.uncertainty, estimate.events

A study's estimate is the sum over its events; when an event that carries dose has no estimate (no verified
coefficient, unknown region, a child where only adult values exist…) the study has none, and ``reasons`` says why:
never a guess. Effective dose is a population estimate for a reference person, not this patient's risk
(``STATEMENT``). Pure: no database, no Orthanc.
"""

from __future__ import annotations

from ...record import DoseRecord
from ..uncertainty import combine
from . import ct, nuclear, projection
from .result import STATEMENT, EffectiveDose, EventEstimate, refused
from .tables import rows

METHODS = {
    "ct": "CT: DLP × k per body region, age group and tube voltage (Lee et al. 2012, ICRP 103 tissue weights)",
    "radiopharmaceutical": "Nuclear medicine: administered activity × ICRP adult dose coefficient (mSv/MBq)",
    "projection": "Radiography / fluoroscopy: DAP × conversion coefficient per examination and projection",
}

__all__ = ["EffectiveDose", "EventEstimate", "METHODS", "STATEMENT", "effective_dose"]


def effective_dose(record: DoseRecord, exam_region: str | None = None) -> EffectiveDose:
    """The effective dose of the study in one extracted dose record.

    Parameters
    ----------
    record : kerma.record.DoseRecord
        ``kerma.extract.extract(bytes)`` of a dose report or image header.
    exam_region : str, optional
        The study's standard exam name or body region; it takes precedence over the events' target regions.
    """
    kind = record.report_kind
    method = METHODS.get(kind, "not estimated")
    age = record.patient.age_years
    if refused(age) is not None:
        age = None          # not a usable age: as if not stated (adult assumed, and said)
    conditions: set[str] = set()
    events: list[EventEstimate] = []
    for index, event in enumerate(record.events):
        if kind == "ct":
            found = ct.estimate_event(index, event, ct.CtContext(age, exam_region), conditions)
        elif kind == "radiopharmaceutical":
            found = nuclear.estimate_event(index, event, age, conditions)
        elif kind == "projection" and record.modality != "MG":
            found = projection.estimate_event(index, event, exam_region, conditions)
        else:
            found = None
        if found is not None:
            events.append(found)
    reasons = [f"event {e.index + 1}: {e.reason}" for e in events if e.effective_dose_mSv is None]
    if record.modality == "MG":
        reasons.append("mammography: the breast's average glandular dose is its dose quantity; no effective dose")
    elif not events:
        reasons.append("no event with a dose quantity to convert (DLP, DAP or administered activity)")
    estimated = not reasons
    total = sum(e.effective_dose_mSv for e in events) if estimated else None
    if "age_assumed" in conditions:
        reasons_kept = ["the patient's age is not stated: adult coefficients used"]
    else:
        reasons_kept = []
    uncertainty = combine(rows("uncertainty_components.csv"), conditions, reasons_kept + reasons, estimated)
    return EffectiveDose(effective_dose_mSv=total, method=method, events=tuple(events), uncertainty=uncertainty,
                         reasons=tuple(reasons), statement=STATEMENT)
