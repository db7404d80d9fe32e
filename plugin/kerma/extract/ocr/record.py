"""A dose screen as a dose record of source ``ocr``: the record shape of :func:`kerma.extract.extract`.

Only values whose checks passed fill the record's fields. A value that needs review stays out of them (its field
is null) and is listed in ``review`` with what was read and why, until a person confirms or corrects it: a
number read from pixels never reaches statistics unchecked.
"""

from __future__ import annotations

from ...record import Device, DoseRecord, Event, Patient, StudyInfo, Totals
from ..concepts import event_fields
from ..dicomfile import DicomFormatError, read
from .. import identity
from ..totals import DERIVABLE_TOTALS, complete_totals
from .reader import read_dose_screen
from .screen import LAYOUT_UNKNOWN, READ, ScreenResult

SOURCE = "ocr"


def screen_record(data: bytes, result: ScreenResult | None = None) -> DoseRecord:
    """The record of one dose-screen object (``result``: its reading, when already made); never raises."""
    try:
        obj = read(data)
    except DicomFormatError as exc:
        return DoseRecord("error", f"not a readable DICOM object: {exc}")
    base = {
        "sop_instance_uid": obj.text(obj.elements, identity.SOP_INSTANCE_UID),
        "sop_class_uid": obj.text(obj.elements, identity.SOP_CLASS_UID),
        "series_instance_uid": obj.text(obj.elements, identity.SERIES_INSTANCE_UID),
        "study_instance_uid": obj.text(obj.elements, 0x0020000D),
    }
    if result is None:
        result = read_dose_screen(data)
    if result.status != READ:
        status = "ignored" if result.status == LAYOUT_UNKNOWN else "error"
        return DoseRecord(status, result.reason, None, **base, screen_text=tuple(result.lines))
    fields = event_fields()
    events, review = [], []
    for index, screen_event in enumerate(result.events):
        event = dict.fromkeys(fields)
        event["ocr_confidence"] = {name: round(r.confidence, 3) for name, r in screen_event.readings.items()}
        for name, reading in screen_event.readings.items():
            if reading.ok:
                event[name] = reading.value
            else:
                review.append({"event": index, "field": name, **reading.to_json()})
        if event.get("z_start_mm") is not None and event.get("z_end_mm") is not None:
            event["scan_length_mm"] = abs(event["z_end_mm"] - event["z_start_mm"])
        events.append(event)
    totals = {}
    for name, reading in result.totals.items():
        if reading.ok:
            totals[name] = reading.value
        else:
            review.append({"event": None, "field": name, **reading.to_json()})
    patient = identity.patient(obj)
    study = identity.study(obj)
    identity.complete_age(patient, study["study_date"])
    return DoseRecord(
        "ok", None, SOURCE, **base, modality="CT", report_kind="ct", patient=Patient(**patient),
        study=StudyInfo(**study), device=Device(**identity.device(obj)),
        totals=Totals(screen_totals(totals, events, {item["field"] for item in review})), events=tuple(map(Event, events)),
        warnings=(f"{len(review)} value(s) need review",) if review else (), review=tuple(review),
        screen={"vendor": result.vendor, "layout": result.layout, "engine": result.engine, "font": result.font},
    )


def screen_totals(printed: dict, events: list[dict], unresolved: set[str]) -> dict:
    """The record's totals: those printed and read ``ok``, and those summed from the events, except a sum with a
    part that needs review (``unresolved``: fields): it would be a partial sum, a wrong number. Absent instead."""
    totals = complete_totals("ct", dict(printed), events)
    derived = totals.get("derived_from_events") or []
    for total, part, _side in DERIVABLE_TOTALS["ct"]:
        if total in derived and (part in unresolved or total in unresolved):
            del totals[total]
            derived.remove(total)
    if not derived:
        totals.pop("derived_from_events", None)
    return totals
