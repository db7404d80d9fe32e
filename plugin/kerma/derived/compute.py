"""The derived doses of one study from its input files: what the dosimetry process computes (CPU work: pixels,
skin maps), never in Orthanc's process.

:func:`compute` takes the files :mod:`.inputs` chose (fetched from Orthanc by the dosimetry thread), the patient
as the study now has it and the study's exam region, and answers one row per estimate (the ``derived_dose``
columns), ``not_estimated`` with the reason where the models give none.  It never raises: a fault in one model is
that model's ``not_estimated`` row.

* effective dose: :func:`kerma.dosimetry.effective.effective_dose` per dose report, summed over the study (a report
  whose events all appear in another one is not counted twice);
* SSDE: :func:`kerma.dosimetry.ssde.ssde_results` over the CT reports, localizers and sampled slices, one row per
  acquisition;
* skin dose: :func:`kerma.dosimetry.skin.skin_dose` (elliptic phantom sized to the patient) per fluoroscopy or
  angiography report, with its map as a PNG.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from ..corrections.factors import corrected_record
from ..dosimetry.effective import STATEMENT, effective_dose
from ..dosimetry.skin import Geometry, render_png, skin_dose
from ..dosimetry.ssde import ssde_results
from ..dosimetry.uncertainty import rounded
from ..extract import extract
from ..record import DoseRecord
from ..study_dose import FAMILY
from .inputs import REPORT
from .reader import EFFECTIVE_DOSE, ESTIMATED, NOT_ESTIMATED, SKIN_DOSE, SSDE
from .store import nothing_to_convert

SKIN_PHANTOM = "elliptic"
PATIENT_FIELDS = ("age_years", "weight_kg", "height_m")


def _with_patient(record: DoseRecord, patient: dict) -> DoseRecord:
    """The record with the study's age, weight and height where it has them (corrected by the HIS or a person)."""
    known = {k: patient[k] for k in PATIENT_FIELDS if patient.get(k) is not None}
    return replace(record, patient=replace(record.patient, **known))


def _counted(reports: list[tuple[dict, DoseRecord]]) -> list[tuple[dict, DoseRecord]]:
    """The reports whose events are not all in another report (a re-sent or cumulative report counts once)."""
    uids = [{e.get("irradiation_event_uid") for e in r.events} - {None} for _, r in reports]
    kept = []
    for i, item in enumerate(reports):
        inside = any(j != i and uids[i] and uids[i] <= uids[j] and (uids[i] != uids[j] or j < i)
                     for j in range(len(reports)))
        if not inside:
            kept.append(item)
    return kept


def _row(kind: str, part: str = "", meta: dict | None = None, **values) -> dict:
    status = ESTIMATED if values.get({EFFECTIVE_DOSE: "effective_dose_mSv", SSDE: "ssde_mGy",
                                      SKIN_DOSE: "psd_mGy"}[kind]) is not None else NOT_ESTIMATED
    return {"kind": kind, "part": part[:128], "dose_object_id": (meta or {}).get("dose_object_id"), "status": status,
            **values}


def effective_rows(reports: list[tuple[dict, DoseRecord]], exam_region: str | None) -> list[dict]:
    """The study's effective dose: one row, the sum over its counted reports, or why there is none."""
    if not reports:
        return nothing_to_convert()
    estimates = [(meta, effective_dose(record, exam_region)) for meta, record in _counted(reports)]
    parts = [{"sop_instance_uid": meta["sop_instance_uid"], **e.to_dict()} for meta, e in estimates]
    methods = sorted({e.method for _, e in estimates})
    missing = [f"{meta['sop_instance_uid']}: {'; '.join(e.reasons)}" for meta, e in estimates
               if e.effective_dose_mSv is None]
    result = {"statement": STATEMENT, "reports": parts,
              "combination": "the reports' estimates summed; the uncertainty their value-weighted relative half-width "
                             "(the components are shared, fully correlated)"}
    only = estimates[0][0] if len(estimates) == 1 else None
    if missing:
        return [_row(EFFECTIVE_DOSE, meta=only, method="not estimated", reason=" | ".join(missing), result=result)]
    total = sum(e.effective_dose_mSv for _, e in estimates)
    weighted = sum(e.effective_dose_mSv * (e.uncertainty.relative or 0) for _, e in estimates)
    reasons = sorted({r for _, e in estimates for r in e.uncertainty.reasons})
    return [_row(EFFECTIVE_DOSE, meta=only, method="; ".join(methods), effective_dose_mSv=rounded(total, 6),
                 uncertainty_relative=rounded(weighted / total, 4) if total > 0 else None,
                 reason="; ".join(reasons) or None, result=result)]


def ssde_rows(paths: list[str], report_of_event: dict[str, dict]) -> list[dict]:
    """One row per CT acquisition found in ``paths`` (reports, localizers, sampled slices)."""
    rows, seen = [], set()
    for index, r in enumerate(ssde_results(paths)):
        part = r.irradiation_event_uid or f"series {r.series_instance_uid} acquisition {r.acquisition_number}"
        if part in seen:
            part = f"{part} #{index + 1}"
        seen.add(part)
        meta = report_of_event.get(r.irradiation_event_uid)
        k = ((meta or {}).get("factors") or {}).get("ctdivol") or 1.0  # the report's device's CTDIvol check factor
        rows.append(_row(SSDE, part, meta, method=r.method,
                         ssde_mGy=rounded(r.ssde_mGy * k if r.ssde_mGy is not None else None, 5),
                         ctdivol_mGy=rounded(r.ctdivol_mGy * k if r.ctdivol_mGy is not None else None),
                         diameter_cm=rounded(r.dw_cm if r.dw_cm is not None else r.deff_cm, 5),
                         uncertainty_relative=rounded(r.uncertainty.relative, 4),
                         reason="; ".join(r.reasons) or None, result=r.to_dict()))
    return rows


def skin_rows(reports: list[tuple[dict, DoseRecord]], folder: Path) -> list[dict]:
    """One row per fluoroscopy / angiography report: PSD, Σ Ka,r and the map (PNG bytes in ``map_png``)."""
    rows = []
    for meta, record in reports:
        if record.report_kind != "projection" or FAMILY.get(record.modality or "") != "RF":
            continue
        transmission = (meta.get("factors") or {}).get("table_transmission")  # the physicist's measurement
        geometry = Geometry.defaults(SKIN_PHANTOM, **({"table_transmission": transmission} if transmission else {}))
        result = skin_dose(record, geometry=geometry)
        png = render_png(result, folder / f"{meta['dose_object_id']}.png").read_bytes()
        answer = result.to_dict()
        rows.append(_row(SKIN_DOSE, meta["sop_instance_uid"], meta, method=result.method,
                         psd_mGy=answer["psd_mGy"], kar_total_mGy=answer["kar_total_mGy"],
                         uncertainty_relative=rounded(result.uncertainty.relative, 4),
                         reason="; ".join(result.uncertainty.reasons) or None,
                         result={**answer, "has_map": True}, map_png=png))
    return rows


def compute(files: list[tuple[dict, bytes]], patient: dict, exam_region: str | None) -> list[dict]:
    """The study's derived rows from ``files`` (``(meta, bytes)``: meta has ``dose_object_id``,
    ``sop_instance_uid`` and ``role``); never raises."""
    with tempfile.TemporaryDirectory(prefix="kerma-dosimetry-") as folder:
        folder = Path(folder)
        reports, ct_paths, report_of_event = [], [], {}
        for meta, data in files:
            path = folder / f"{meta['dose_object_id']}.dcm"
            path.write_bytes(data)
            if meta["role"] != REPORT:
                ct_paths.append(str(path))
                continue
            record = extract(data)
            if not record.ok:
                continue
            # the device's correction factors (DAP, Ka,r, CTDIvol) before any dose is converted
            reports.append((meta, _with_patient(corrected_record(record, meta.get("factors") or {}), patient)))
            if record.report_kind == "ct" and record.source == "rdsr":
                ct_paths.append(str(path))
                report_of_event.update({e["irradiation_event_uid"]: meta for e in record.events
                                        if e.get("irradiation_event_uid")})
        rows = []
        for kind, work in ((EFFECTIVE_DOSE, lambda: effective_rows(reports, exam_region)),
                           (SSDE, lambda: ssde_rows(ct_paths, report_of_event) if ct_paths else []),
                           (SKIN_DOSE, lambda: skin_rows(reports, folder))):
            try:
                rows += work()
            except Exception as exc:  # a fault no check foresaw is this model's, not the study's
                rows.append(_row(kind, "failed", method="not estimated",
                                 reason=f"the model failed: {type(exc).__name__}: {exc}"))
        return rows
