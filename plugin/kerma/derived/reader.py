"""Derived doses as others read them: the study page, alerts, reports and the patient view (one shape, kept stable).

Every row is a dict with ``kind`` (``effective_dose``, ``ssde``, ``skin_dose``), ``part`` ('' for the study, the
acquisition or report otherwise), ``status`` (``estimated`` / ``not_estimated``), ``method``, ``reason``, its value in
the field named with its unit (``effective_dose_mSv``, ``ssde_mGy`` with ``ctdivol_mGy`` and ``diameter_cm``,
``psd_mGy`` with ``kar_total_mGy``), ``uncertainty_relative`` and the band it gives (``low`` / ``high`` beside the
value), ``sop_instance_uid`` of the dose object it came from, ``computed_at``, ``model_version``, ``inputs`` and
``result`` (the model's whole answer: coefficients and their citations, each event's part).  Absent is ``None``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from ..db.models import DerivedDose, DoseObject

EFFECTIVE_DOSE, SSDE, SKIN_DOSE = "effective_dose", "ssde", "skin_dose"
KINDS = (EFFECTIVE_DOSE, SSDE, SKIN_DOSE)
ESTIMATED, NOT_ESTIMATED = "estimated", "not_estimated"
VALUE = {EFFECTIVE_DOSE: "effective_dose_mSv", SSDE: "ssde_mGy", SKIN_DOSE: "psd_mGy"}
STATEMENT = ("Effective dose is a population estimate for a reference person, useful to compare examinations; "
             "it is not a personal risk.")


def band(value: float | None, relative: float | None) -> tuple[float | None, float | None]:
    """(low, high) of ``value`` ± ``relative`` (a half-width), low not below 0; (None, None) without both."""
    if value is None or relative is None:
        return None, None
    return max(0.0, value * (1 - relative)), value * (1 + relative)


def row_dict(row: DerivedDose, sop_instance_uid: str | None = None, with_result: bool = True) -> dict:
    """One derived row as every reader gets it (the map image itself is :func:`skin_map_png`)."""
    field = VALUE[row.kind]
    value = getattr(row, field)
    low, high = band(value, row.uncertainty_relative)
    out = {"id": row.id, "kind": row.kind, "part": row.part, "status": row.status, "method": row.method,
           "reason": row.reason, field: value, f"{field}_low": low, f"{field}_high": high,
           "uncertainty_relative": row.uncertainty_relative, "sop_instance_uid": sop_instance_uid,
           "computed_at": row.computed_at.isoformat() if row.computed_at else None,
           "model_version": row.model_version, "inputs_sha256": row.inputs_sha256}
    if row.kind == SSDE:
        out.update(ctdivol_mGy=row.ctdivol_mGy, diameter_cm=row.diameter_cm)
    elif row.kind == SKIN_DOSE:
        out.update(kar_total_mGy=row.kar_total_mGy, has_map=bool(row.result and row.result.get("has_map")))
    elif row.kind == EFFECTIVE_DOSE:
        out["statement"] = STATEMENT
    if with_result:
        out.update(inputs=row.inputs, result=row.result)
    return out


def _rows(session: Session, study_ids: Iterable[int]) -> list[tuple[DerivedDose, str | None]]:
    ids = sorted(set(study_ids))
    if not ids:
        return []
    return list(session.execute(
        select(DerivedDose, DoseObject.sop_instance_uid).outerjoin(DoseObject, DerivedDose.dose_object_id == DoseObject.id)
        .where(DerivedDose.study_id.in_(ids)).options(defer(DerivedDose.map_png))
        .order_by(DerivedDose.study_id, DerivedDose.kind, DerivedDose.part)).all())


def derived_doses(session: Session, study_ids: Iterable[int], with_result: bool = True) -> dict[int, dict]:
    """Per study id: ``{"effective_dose": row | None, "ssde": [rows], "skin_dose": [rows]}`` (:func:`row_dict`).

    A study without rows (not computed yet, or nothing to derive) is absent from the answer.
    """
    out: dict[int, dict] = {}
    for row, sop in _rows(session, study_ids):
        entry = out.setdefault(row.study_id, {EFFECTIVE_DOSE: None, SSDE: [], SKIN_DOSE: []})
        item = row_dict(row, sop, with_result)
        if row.kind == EFFECTIVE_DOSE:
            entry[EFFECTIVE_DOSE] = item
        else:
            entry[row.kind].append(item)
    return out


def study_summaries(session: Session, study_ids: Iterable[int]) -> dict[int, dict]:
    """Per study id, the numbers a list, a timeline or an alert reads (absent: ``None``):

    ``effective_dose_mSv`` with ``effective_dose_mSv_low`` / ``_high`` and ``effective_dose_status`` /
    ``effective_dose_reason``; ``psd_mGy`` (the highest of the study's fluoroscopy reports) with its band;
    ``ssde_mGy_max`` (the highest acquisition's SSDE).
    """
    grouped: dict[int, list[DerivedDose]] = defaultdict(list)
    for row, _ in _rows(session, study_ids):
        grouped[row.study_id].append(row)
    out = {}
    for study_id, rows in grouped.items():
        effective = next((r for r in rows if r.kind == EFFECTIVE_DOSE), None)
        skins = [r for r in rows if r.kind == SKIN_DOSE and r.psd_mGy is not None]
        skin = max(skins, key=lambda r: r.psd_mGy, default=None)
        ssdes = [r.ssde_mGy for r in rows if r.kind == SSDE and r.ssde_mGy is not None]
        e_value = effective.effective_dose_mSv if effective else None
        e_low, e_high = band(e_value, effective.uncertainty_relative if effective else None)
        p_value = skin.psd_mGy if skin else None
        p_low, p_high = band(p_value, skin.uncertainty_relative if skin else None)
        out[study_id] = {
            "effective_dose_mSv": e_value, "effective_dose_mSv_low": e_low, "effective_dose_mSv_high": e_high,
            "effective_dose_status": effective.status if effective else None,
            "effective_dose_reason": effective.reason if effective else None,
            "psd_mGy": p_value, "psd_mGy_low": p_low, "psd_mGy_high": p_high,
            "ssde_mGy_max": max(ssdes) if ssdes else None,
        }
    return out


def skin_map_png(session: Session, derived_id: int) -> bytes | None:
    """The PNG of a skin-dose row's map, or None."""
    row = session.get(DerivedDose, derived_id)
    return None if row is None or row.kind != SKIN_DOSE else row.map_png
