"""A patient's dose history: every study of one Patient ID in date order with its dose values, and sums.

Each study shows the totals its statistics use (DLP, DAP, Ka,r, AGD, activity, fluoroscopy time: the study's
resolved totals), the highest CTDIvol of its counted acquisitions, and the estimates derived from them (effective
dose with its uncertainty band, peak skin dose, the highest SSDE) where they were made (:mod:`kerma.derived`;
absent is None, never 0, with the reason when the model said why).
Sums are made over windows ending on a given day (:mod:`.windows`), overall and per modality.  A sum adds the
studies that have the value; how many studies with dose have no effective dose estimate is said beside it, so
that a partial sum is not read as a whole.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import quantities
from ..db.models import DoseObject, IrradiationEvent, Study
from ..derived import study_summaries
from .windows import Window

STATEMENT = ("A cumulative effective dose is a bookkeeping figure, not a personal risk: effective dose is defined for "
             "a reference person (ICRP Publication 103), and adding the doses of examinations of different body "
             "regions tells how much imaging a patient had, not what it did to them.")
BAND = ("The band of a sum adds the studies' bands (their uncertainties come mostly from shared conversion "
        "coefficients, so they are taken as moving together).")


# what kerma.derived.study_summaries gives a study (None until its estimates are made, and where none could be)
ESTIMATES = ("effective_dose_mSv", "effective_dose_mSv_low", "effective_dose_mSv_high", "effective_dose_status",
             "effective_dose_reason", "psd_mGy", "psd_mGy_low", "psd_mGy_high", "ssde_mGy_max")


def summed_quantities() -> tuple[str, ...]:
    """The study totals a history adds up: every exam-level quantity kept in a column of the study that adds (not a
    ratio such as iodine per kg)."""
    return tuple(q.key for q in quantities.exam_quantities() if q.statistics == quantities.COLUMN and q.aggregate == "sum")


@dataclass(frozen=True)
class Header:
    """Who the patient is, from their latest study (name, sex, birth date) and latest known size."""

    patient_id: str
    name: str | None
    sex: str | None
    birth_date: dt.date | None
    age_years: float | None
    age_on: dt.date | None
    weight_kg: float | None
    weight_source: str | None
    weight_on: dt.date | None
    height_m: float | None
    height_source: str | None
    height_on: dt.date | None
    studies: int
    first_study_date: dt.date | None
    last_study_date: dt.date | None

    def as_json(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.__dict__.items()}


def studies_of(session: Session, patient_id: str) -> list[Study]:
    """The patient's studies, oldest first (undated last)."""
    return list(session.scalars(select(Study).where(Study.patient_id == patient_id)
                                .order_by(Study.study_date.is_(None), Study.study_date, Study.study_time, Study.id)))


def header(patient_id: str, studies: list[Study], as_of: dt.date) -> Header:
    """The patient as their studies last said; the age counted on ``as_of`` from the birth date when there is one."""
    latest = list(reversed(studies))

    def last(column: str) -> Study | None:
        return next((s for s in latest if getattr(s, column) is not None), None)

    named, sexed, born, aged = last("patient_name"), last("patient_sex"), last("patient_birth_date"), last("patient_age_years")
    weighed, measured = last("patient_weight_kg"), last("patient_height_m")
    birth = born.patient_birth_date if born else None
    if birth is not None and birth <= as_of:
        age, age_on = (as_of - birth).days / 365.2425, as_of
    else:
        age, age_on = (aged.patient_age_years, aged.study_date) if aged else (None, None)
    dated = [s.study_date for s in studies if s.study_date is not None]
    return Header(
        patient_id, named.patient_name if named else None, sexed.patient_sex if sexed else None, birth,
        age, age_on,
        weighed.patient_weight_kg if weighed else None, weighed.patient_weight_source if weighed else None,
        weighed.study_date if weighed else None,
        measured.patient_height_m if measured else None, measured.patient_height_source if measured else None,
        measured.study_date if measured else None,
        len(studies), min(dated, default=None), max(dated, default=None))


def timeline(session: Session, studies: list[Study]) -> list[dict]:
    """One row per study: what it is, its dose values and its estimates (None where absent)."""
    ids = [s.id for s in studies]
    modalities: dict[int, set] = defaultdict(set)
    for study_id, modality in session.execute(
            select(DoseObject.study_id, DoseObject.modality).where(DoseObject.study_id.in_(ids), DoseObject.status == "ok",
                                                                   DoseObject.modality.is_not(None)).distinct()):
        modalities[study_id].add(modality)
    ctdivol = dict(session.execute(
        select(IrradiationEvent.study_id, func.max(IrradiationEvent.ctdivol_mGy))
        .where(IrradiationEvent.study_id.in_(ids), IrradiationEvent.counted).group_by(IrradiationEvent.study_id)).all())
    estimates = study_summaries(session, ids)
    rows = []
    for s in studies:
        row = {"study_instance_uid": s.study_instance_uid, "study_date": s.study_date.isoformat() if s.study_date else None,
               "study_time": s.study_time, "accession_number": s.accession_number, "study_description": s.study_description,
               "standard_exam_id": s.standard_exam_id, "device_id": s.device_id,
               "modalities": sorted(modalities.get(s.id, ())), "source": s.dose_source,
               "ctdivol_mGy": ctdivol.get(s.id)}
        row.update({key: getattr(s, key) for key in summed_quantities()})
        row.update(dict.fromkeys(ESTIMATES))
        row.update(estimates.get(s.id) or {})
        rows.append(row)
    return rows


def has_dose(row: dict) -> bool:
    return any(row.get(key) is not None for key in summed_quantities() if quantities.get(key).is_dose)


def sums(rows: list[dict], window: Window, group: str | None = None) -> dict:
    """The sums of ``rows`` (timeline rows) that fall in ``window``: each quantity over the studies having it (None
    when none has it), the effective dose with its band, and how many studies with dose lack an estimate."""
    held = [r for r in rows if window.holds(dt.date.fromisoformat(r["study_date"]) if r["study_date"] else None)]
    out = {**window.as_json(), **({"modality": group} if group is not None else {}), "studies": len(held)}
    for key in summed_quantities():
        values = [r[key] for r in held if r.get(key) is not None]
        out[key] = sum(values) if values else None
    estimated = [r for r in held if r["effective_dose_mSv"] is not None]
    banded = [r for r in estimated if r["effective_dose_mSv_low"] is not None]
    whole = bool(banded) and banded == estimated  # a band only when every estimate in the sum has one
    out["effective_dose_mSv"] = sum(r["effective_dose_mSv"] for r in estimated) if estimated else None
    out["effective_dose_mSv_low"] = sum(r["effective_dose_mSv_low"] for r in banded) if whole else None
    out["effective_dose_mSv_high"] = sum(r["effective_dose_mSv_high"] for r in banded) if whole else None
    out["effective_dose_estimated_studies"] = len(estimated)
    out["effective_dose_not_estimated_studies"] = sum(1 for r in held if has_dose(r) and r["effective_dose_mSv"] is None)
    return out


def by_modality(rows: list[dict], windows: tuple[Window, ...]) -> list[dict]:
    """Sums per window and per modality (a study of several modalities, e.g. a PET/CT, counts as their combination)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[", ".join(row["modalities"]) or "unknown"].append(row)
    return [sums(members, window, group) for window in windows for group, members in sorted(groups.items())]
