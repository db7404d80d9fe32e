"""Database rows as API JSON, and the study totals combined from its dose objects."""

from __future__ import annotations

import hashlib

from ..db.models import DoseObject, Study
from ..ingest.refresh import TOTAL_COLUMNS
from ..db.records import event, record
from ..study_dose import resolve_study

STUDY_FIELDS = ("study_instance_uid", "accession_number", "study_id", "study_time", "study_description",
                "requested_procedure", "performed_procedure", "procedure_reported", "institution_name", "department")
PATIENT_FIELDS = {"patient_id": "patient_id", "name": "patient_name", "sex": "patient_sex",
                  "age_years": "patient_age_years", "height_m": "patient_height_m", "weight_kg": "patient_weight_kg"}
DEVICE_FIELDS = ("manufacturer", "model", "station_name", "serial_number", "software_versions", "device_observer_uid")


def iso(value):
    return value.isoformat() if value is not None else None


def study_summary(study: Study, resolved: dict | None = None) -> dict:
    """A study as lists show it: totals as kept after ingestion, unless ``resolved`` gives them afresh."""
    objects = [o for o in study.objects if o.status == "ok"]
    if resolved is None:
        kept = {total: getattr(study, column) for total, column in TOTAL_COLUMNS.items() if getattr(study, column) is not None}
        resolved = {"source": study.dose_source, "sources": None, "totals": kept}
    out = {name: getattr(study, name) for name in STUDY_FIELDS}
    out["study_date"] = iso(study.study_date)
    out["patient"] = {k: getattr(study, col) for k, col in PATIENT_FIELDS.items()}
    out["patient"]["birth_date"] = iso(study.patient_birth_date)
    out["modalities"] = sorted({o.modality for o in objects if o.modality})
    out["devices"] = _unique(device(o) for o in objects)
    out["source"] = resolved["source"]
    out["sources"] = resolved["sources"]
    out["totals"] = resolved["totals"]
    out["dose_object_count"] = len(objects)
    out["standard_exam_id"] = study.standard_exam_id
    out["orthanc_study_id"] = orthanc_study_id(study.patient_id, study.study_instance_uid)
    return out


def orthanc_study_id(patient_id: str | None, study_instance_uid: str) -> str:
    """The identifier Orthanc gives the study: SHA-1 of "PatientID|StudyInstanceUID" in five dashed groups."""
    digest = hashlib.sha1(f"{patient_id or ''}|{study_instance_uid}".encode()).hexdigest()
    return "-".join(digest[i:i + 8] for i in range(0, 40, 8))


def study_detail(study: Study) -> dict:
    """The study with the records each source gives and the ones its statistics use."""
    objects = [o for o in study.objects if o.status == "ok"]
    records = [record(o) for o in objects]
    resolved = resolve_study(records)
    out = study_summary(study, resolved)
    out["events"] = resolved["events"]
    out["records_by_source"] = {
        source: {k: v for k, v in resolve_study([r for r in records if r["source"] == source]).items() if k in ("totals", "events")}
        for source in sorted({r["source"] for r in records})
    }
    # per-image header observations are folded into records_by_source; reports keep their own events
    out["dose_objects"] = [dose_object(o, with_events=o.source != "header") for o in study.objects]
    return out


def dose_object(obj: DoseObject, with_events: bool = False) -> dict:
    out = {
        "sop_instance_uid": obj.sop_instance_uid,
        "sop_class_uid": obj.sop_class_uid,
        "orthanc_id": obj.orthanc_id,
        "status": obj.status,
        "reason": obj.reason,
        "source": obj.source,
        "modality": obj.modality,
        "report_kind": obj.report_kind,
        "device": device(obj),
        "totals": obj.totals,
        "warnings": obj.warnings or [],
        "processed_at": iso(obj.processed_at),
    }
    out["event_count"] = len(obj.events)
    if with_events:
        out["events"] = [event(e) for e in obj.events]
    return out


def device(obj: DoseObject) -> dict:
    return {name: getattr(obj, name) for name in DEVICE_FIELDS}


def _unique(items) -> list:
    seen, out = set(), []
    for item in items:
        key = tuple(sorted(item.items()))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
