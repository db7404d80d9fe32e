"""Extraction: DICOM bytes in, one dose record (:class:`kerma.record.DoseRecord`) out.  Pure code, no Orthanc.

The record's shape is the same for every source; the README documents it.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

from ..record import Device, DoseRecord, Event, Patient, StudyInfo, Totals
from . import contrast, identity, own_output, plausible
from .dicomfile import DicomFormatError, DicomObject, read
from .header import HeaderReader, NoHeaderDose
from .ocr.detect import header_of, is_dose_screen
from .rdsr import NotADoseReport, RdsrReader
from .srtree import build
from .totals import complete_totals

SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
# SOP classes that exist only to carry dose reports: a non-dose title there is a malformed object
DOSE_SR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.67": "X-Ray Radiation Dose SR",
    "1.2.840.10008.5.1.4.1.1.88.68": "Radiopharmaceutical Radiation Dose SR",
    "1.2.840.10008.5.1.4.1.1.88.76": "Enhanced X-Ray Radiation Dose SR",
}
MEDIA_SOP_CLASS = 0x00020002
MEDIA_SOP_INSTANCE = 0x00020003


# SOP classes that never carry dose: presentation states, key objects, encapsulated documents, raw data,
# registrations, segmentations, waveforms (PS3.4 B.5)
NO_DOSE_CLASS_PREFIXES = (
    "1.2.840.10008.5.1.4.1.1.11.",
    "1.2.840.10008.5.1.4.1.1.88.59",
    "1.2.840.10008.5.1.4.1.1.104.",
    "1.2.840.10008.5.1.4.1.1.66",
    "1.2.840.10008.5.1.4.1.1.9.",
)


def reason_to_skip(sop_class_uid: str) -> str | None:
    """Why an object of this SOP class holds nothing to extract, decided before reading it; None to read it."""
    if sop_class_uid.startswith(NO_DOSE_CLASS_PREFIXES):
        return f"SOP class {sop_class_uid} never carries dose"
    return None


def extract(data: bytes) -> DoseRecord:
    """Dose record for one DICOM object, whatever the bytes; never raises.

    ``status`` is ``ok`` (a dose record), ``ignored`` (a valid object that
    carries no dose this extractor reads; ``reason`` says why) or ``error``
    (unreadable or malformed; ``reason`` says what is wrong).  A malformed
    attribute makes its value absent with a warning; a number no device or
    person can produce is refused (:mod:`plausible`).
    """
    base: dict = {}
    try:
        with _no_cycle_collection():
            return _extract(data, base)
    except Exception as exc:  # last line of defence: a fault no check foresaw is this object's error, not Orthanc's
        return _result("error", f"extraction failed: {type(exc).__name__}: {exc}", **base)


@contextmanager
def _no_cycle_collection():
    """Python's cycle collector paused while an object is parsed.

    Parsing makes trees (item dicts, content items, event dicts), never cycles, and reference counting frees them;
    but it makes so many containers (the 316-event report: 24,000 item dicts, 79,000 elements, 15,000 content items)
    that the collector ran over them again and again, finding nothing: that report's extraction took 0.29-0.32 s of
    CPU with it, 0.17-0.20 s without (2026-12-03, load 12-15).  It is resumed after, if it was on; another thread
    extracting at the same time may resume it first, which only costs that thread the saving.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _extract(data: bytes, base: dict) -> DoseRecord:
    try:
        obj = read(data)
    except DicomFormatError as exc:
        return _result("error", f"not a readable DICOM object: {exc}")
    base.update(_identifiers(obj))
    sop_class = base["sop_class_uid"]
    if not sop_class:
        return _result("error", "no SOP Class UID", **base)
    if own_output.is_own_output(obj):  # written by Kerma from records it already has: never new dose
        return _result("ignored", own_output.REASON, **base)
    skip = reason_to_skip(sop_class)
    if skip:
        return _result("ignored", skip, **base)
    if sop_class.startswith(SR_CLASS_PREFIX):
        return _from_report(obj, base, sop_class)
    try:
        report = HeaderReader(obj).read()
    except NoHeaderDose as exc:
        screen = is_dose_screen(header_of(obj))  # header only: the pixels are OCR's, off the ingest path
        if screen:
            return _result("ignored", f"{screen}; its dose is read by OCR", dose_screen=True, **base)
        return _result("ignored", str(exc), **base)
    return _record(obj, base, report, "header")


def _from_report(obj: DicomObject, base: dict, sop_class: str) -> DoseRecord:
    try:
        report = RdsrReader(build(obj, obj.elements)).read()
    except NotADoseReport as exc:
        if sop_class in DOSE_SR_CLASSES:
            return _result("error", f"{DOSE_SR_CLASSES[sop_class]} object with broken content: {exc}", **base)
        return _result("ignored", str(exc), **base)
    if not report["events"] and not any(isinstance(v, float) for v in report["totals"].values()):
        return _result("error", "dose report without irradiation events or accumulated dose values", **base)
    return _record(obj, base, report, "rdsr")


def _identifiers(obj: DicomObject) -> dict:
    ds, meta = obj.elements, obj.file_meta
    return {
        "sop_instance_uid": obj.text(ds, identity.SOP_INSTANCE_UID) or obj.text(meta, MEDIA_SOP_INSTANCE),
        "sop_class_uid": obj.text(ds, identity.SOP_CLASS_UID) or obj.text(meta, MEDIA_SOP_CLASS),
        "series_instance_uid": obj.text(ds, identity.SERIES_INSTANCE_UID),
        "study_instance_uid": obj.text(ds, 0x0020000D),
    }


def _result(status: str, reason: str | None, **fields) -> DoseRecord:
    return DoseRecord(status, reason, None, **fields)


def _record(obj: DicomObject, base: dict, report: dict, source: str) -> DoseRecord:
    warnings = report["warnings"]
    events = report["events"]
    # implausible numbers go before totals are summed from the events, so no sum carries them
    refused = plausible.screen(events, warnings) + plausible.screen(report["totals"], warnings)
    totals = complete_totals(report["kind"], report["totals"], events)
    document = report["document"]
    patient = identity.patient(obj)
    for name in ("sex", "age_years", "height_m", "weight_kg"):
        if patient.get(name) is None:
            patient[name] = document.get(name)
    study = identity.study(obj)
    study["study_instance_uid"] = study["study_instance_uid"] or document.get("scope_study_instance_uid")
    study["procedure_reported"] = document.get("procedure_reported")
    study["irradiation_start"] = document.get("irradiation_start")
    study["irradiation_end"] = document.get("irradiation_end")
    identity.complete_age(patient, study["study_date"])
    device = identity.device(obj)
    for name in ("manufacturer", "model", "serial_number"):
        if device.get(name) is None:
            device[name] = document.get(f"device_observer_{name}")
    device["device_observer_uid"] = document.get("device_observer_uid")
    device["device_observer_name"] = document.get("device_observer_name")
    device["location"] = document.get("device_observer_location")
    base["study_instance_uid"] = study["study_instance_uid"]
    administered = None
    if report.get("contrast"):  # image headers: what they say was administered (screened before iodine is computed)
        refused += plausible.screen(report["contrast"], warnings)
        administered = tuple(contrast.complete(a) for a in report["contrast"])
    warnings[:0] = obj.warnings  # what reading the object's attributes found wrong
    refused += plausible.screen([patient, totals], warnings)  # the events were screened before: sums may overflow
    dose_refused = [r for r in refused if r.dose]
    if dose_refused and not plausible.has_dose([totals, events]):
        more = f" (and {len(dose_refused) - 3} more)" if len(dose_refused) > 3 else ""
        reason = "; ".join(str(r) for r in dose_refused[:3])
        return _result("error", f"no plausible dose value left: {reason}{more}", **base)
    return DoseRecord("ok", None, source, **base, modality=report["modality"], report_kind=report["kind"],
                      patient=Patient(**patient), study=StudyInfo(**study), device=Device(**device), totals=Totals(totals),
                      events=tuple(map(Event, events)), warnings=tuple(warnings), units=report.get("units") or {},
                      contrast=administered)
