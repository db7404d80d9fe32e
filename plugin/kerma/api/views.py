"""Database rows as API JSON, and the study totals combined from its dose objects."""

from __future__ import annotations

from ..db.models import EVENT_FIELDS, DoseObject, IrradiationEvent, Study

STUDY_FIELDS = ("study_instance_uid", "accession_number", "study_id", "study_time", "study_description",
                "requested_procedure", "performed_procedure", "procedure_reported", "institution_name", "department")
PATIENT_FIELDS = {"patient_id": "patient_id", "name": "patient_name", "sex": "patient_sex",
                  "age_years": "patient_age_years", "height_m": "patient_height_m", "weight_kg": "patient_weight_kg"}
DEVICE_FIELDS = ("manufacturer", "model", "station_name", "serial_number", "software_versions", "device_observer_uid")


def iso(value):
    return value.isoformat() if value is not None else None


def study_summary(study: Study) -> dict:
    objects = [o for o in study.objects if o.status == "ok"]
    out = {name: getattr(study, name) for name in STUDY_FIELDS}
    out["study_date"] = iso(study.study_date)
    out["patient"] = {k: getattr(study, col) for k, col in PATIENT_FIELDS.items()}
    out["patient"]["birth_date"] = iso(study.patient_birth_date)
    out["modalities"] = sorted({o.modality for o in objects if o.modality})
    out["devices"] = _unique(device(o) for o in objects)
    out["sources"] = sorted({o.source for o in objects if o.source})
    out["totals"] = study_totals(objects)
    out["dose_object_count"] = len(objects)
    return out


def study_detail(study: Study) -> dict:
    out = study_summary(study)
    out["dose_objects"] = [dose_object(o, with_events=True) for o in study.objects]
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
    if with_events:
        out["events"] = [event(e) for e in obj.events]
    return out


def device(obj: DoseObject) -> dict:
    return {name: getattr(obj, name) for name in DEVICE_FIELDS}


def event(row: IrradiationEvent) -> dict:
    out = {name: getattr(row, name) for name in EVENT_FIELDS}
    out.update(row.details or {})
    return out


def study_totals(objects: list[DoseObject]) -> dict:
    """Totals of a study from its dose reports.

    A report whose irradiation events are all contained in another report of
    the same study (a re-issued or cumulative report) does not count twice.
    """
    event_sets = [{e.irradiation_event_uid for e in o.events if e.irradiation_event_uid} for o in objects]
    counted = []
    for i, obj in enumerate(objects):
        mine = event_sets[i]
        superseded = bool(mine) and any(
            j != i and mine <= other and (mine != other or j < i) for j, other in enumerate(event_sets)
        )
        if not superseded:
            counted.append(obj)
    totals: dict = {}
    for obj in counted:
        for name, value in (obj.totals or {}).items():
            if name in ("planes", "derived_from_events"):
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                totals[name] = round((totals.get(name) or 0) + value, 12)
            elif name not in totals:
                totals[name] = value
    return totals


def _unique(items) -> list:
    seen, out = set(), []
    for item in items:
        key = tuple(sorted(item.items()))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
