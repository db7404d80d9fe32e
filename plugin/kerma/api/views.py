"""Database rows as API JSON, and the study totals combined from its dose objects."""

from __future__ import annotations

from collections.abc import Sequence

from ..correction_kinds import event_columns
from ..corrections.factors import corrected_value
from ..db.models import DoseObject, Study
from ..db.records import event, record
from ..record import Event
from ..study_dose import resolve_study

STUDY_FIELDS = ("study_instance_uid", "accession_number", "study_id", "study_time", "study_description",
                "requested_procedure", "performed_procedure", "procedure_reported", "institution_name", "department")
PATIENT_FIELDS = {"patient_id": "patient_id", "name": "patient_name", "sex": "patient_sex",
                  "age_years": "patient_age_years", "height_m": "patient_height_m", "weight_kg": "patient_weight_kg",
                  "height_source": "patient_height_source", "weight_source": "patient_weight_source"}
DEVICE_FIELDS = ("manufacturer", "model", "station_name", "serial_number", "software_versions", "device_observer_uid")
# the study's resolved totals its statistics use, each named as its quantity (total_dlp_mGycm...)
EXAM_TOTALS = tuple(c.name for c in Study.__table__.columns if c.name.startswith("total_"))


def iso(value):
    return value.isoformat() if value is not None else None


def study_summary(study: Study) -> dict:
    """A study as both the study list and the study page show it: what ingestion resolved and kept.

    ``source``, ``sources`` (per dose family) and ``totals`` are those its statistics use: corrected by the device's
    correction factors where one covers the study, then ``uncorrected_totals`` are the totals as the devices reported
    them and ``corrections`` the factors applied (else both are null).
    """
    objects = [o for o in study.objects if o.status == "ok"]
    out = {name: getattr(study, name) for name in STUDY_FIELDS}
    out["study_date"] = iso(study.study_date)
    out["patient"] = {k: getattr(study, col) for k, col in PATIENT_FIELDS.items()}
    out["patient"]["birth_date"] = iso(study.patient_birth_date)
    out["modalities"] = sorted({o.modality for o in objects if o.modality})
    out["devices"] = _unique(device(o) for o in objects)
    out["source"] = study.dose_source
    out["sources"] = study.dose_sources or {}
    out["totals"] = study.dose_totals or {}
    out["exam_totals"] = {name: getattr(study, name) for name in EXAM_TOTALS if getattr(study, name) is not None}
    out["contrast"] = study.contrast or []  # each administration once, its source and whether its totals count it
    out["uncorrected_totals"] = (study.dose_corrections or {}).get("uncorrected_totals")
    out["corrections"] = (study.dose_corrections or {}).get("factors")
    out["dose_object_count"] = len(objects)
    out["deleted_in_pacs_at"] = deleted_in_pacs_at(study)
    out["standard_exam_id"] = study.standard_exam_id
    out["device_id"] = study.device_id  # the device of the records its statistics count
    return out


def study_detail(study: Study, compact: bool = False) -> dict:
    """The study summary, with the events its statistics count and what each source alone gives.

    ``compact`` (the study page's answer): each event once, in ``events``; the records by source give their totals
    and event counts, the dose objects no events (a fluoroscopy study of 316 events was 3.8 MB, each event thrice).
    """
    objects = [o for o in study.objects if o.status == "ok"]
    by_object = {o.id: record(o) for o in objects}  # each event row made a dict once (a fluoroscopy study: hundreds)
    records = list(by_object.values())
    out = study_summary(study)
    folded_rows = {e.folded_key: e.id for o in objects for e in o.events if e.folded_key is not None}
    # a folded CT acquisition is counted on a row of its own: that row is the event's id
    out["events"] = [{**e, "event_id": folded_rows.get(e["folded_key"])} if e.get("folded_key") else e
                     for e in resolve_study(records)["events"]]
    factors = {row.id: {n: getattr(row, n) for n in event_columns() if getattr(row, n) is not None}
               for o in objects for row in o.events}
    for e in out["events"]:  # the values as reported stay; the corrected ones beside them
        mine = factors.get(e.get("event_id")) or {}
        if mine:
            e["corrected"] = {k: corrected_value(k, v, mine) for k, v in e.items() if corrected_value(k, v, mine) is not v}
    out["records_by_source"] = {}
    for source in sorted({r.source for r in records}):
        resolved = resolve_study([r for r in records if r.source == source])
        out["records_by_source"][source] = {"totals": resolved["totals"], "event_count": len(resolved["events"]),
                                            **({} if compact else {"events": resolved["events"]})}
    # per-image header observations are folded into records_by_source; reports keep their own events
    out["dose_objects"] = [dose_object(o, with_events=not compact and o.source != "header",
                                       events=by_object[o.id].events if o.id in by_object else None)
                           for o in study.objects]
    return out


def deleted_in_pacs_at(study: Study) -> str | None:
    """When Orthanc deleted the last of the study's instances (its dose records are kept); None while any is there."""
    moments = [o.deleted_in_pacs_at for o in study.objects]
    return iso(max(moments)) if moments and None not in moments else None


def dose_object(obj: DoseObject, with_events: bool = False, events: Sequence[Event] | None = None) -> dict:
    """The ledger row as the API shows it; ``events``: its events as records already (:func:`kerma.db.records.record`),
    copied rather than made again."""
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
        "deleted_in_pacs_at": iso(obj.deleted_in_pacs_at),
    }
    if obj.ocr_state is not None:  # a dose screen: its OCR state, engine and the values needing review
        out["ocr_state"] = obj.ocr_state
        out["ocr"] = {k: v for k, v in (obj.ocr or {}).items() if k != "lines"}
    given = [e for e in obj.events if e.folded_key is None]
    out["event_count"] = len(given)
    if with_events:
        out["events"] = [e.as_dict() for e in events] if events is not None else [event(e).as_dict() for e in given]
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
