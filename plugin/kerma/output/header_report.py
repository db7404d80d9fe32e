"""An X-Ray Radiation Dose SR built from the dose Kerma read in image headers (or dose screens), for a registry.

IHE REM's Dose Information Reporter sends RDSRs; a device that writes none still wrote its dose in its images'
headers (or a dose screen).  :func:`header_dose_report` takes the study's records as :func:`kerma.extract.extract`
gives them, folds them into exposures as the study view does (:func:`kerma.study_dose.resolve_study`), and writes
one report of the device (TID 10011 for CT, TID 10001 for projection X-ray), built with highdicom's content items::

    CONTAINER (113701, DCM, "X-Ray Radiation Dose Report")             TID 10011 / 10001
      HAS CONCEPT MOD  Procedure reported: CT, projection X-ray or mammography
      HAS OBS CONTEXT  Observer Context: the device (TID 1004) as its images name it
      HAS OBS CONTEXT  Scope of Accumulation: Study, with its Study Instance UID
      CONTAINS CONTAINER CT Accumulated Dose Data / Accumulated X-Ray Dose Data (totals)
      CONTAINS CONTAINER CT Acquisition / Irradiation Event X-Ray Data, one per exposure:
                         CT Acquisition Parameters, CT X-Ray Source Parameters, CT Dose sub-containers for CT
      CONTAINS CODE    Source of Dose Information: Copied From Image Attributes (header), Derived From
                       Human-Readable Reports (dose screen), Computed From Image Attributes (an estimated DLP)

Which concept and unit carries each field is Kerma's extractor's own table read backwards
(``kerma/extract/data/rdsr_concepts.csv``), so the report extracts to the values it was built from; coded values
come from ``data/coded_values.csv``.  A value the templates require but the headers do not give is absent, never
invented; a field with no SR concept (a vendor's exposure indicator, a detector's ID) stays in Kerma's records.
The report is the device's dose, so the equipment is the device's; Kerma is named as contributing equipment
(processing) and the report carries no mark of Kerma's own output.
"""

from __future__ import annotations

import csv
import re
import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

import highdicom as hd

from ..extract.concepts import concept_table
from ..record import Device, DoseRecord
from ..study_dose import resolve_study
from . import identity
from .content import CONTAINS, HAS_CONCEPT_MOD, HAS_OBS_CONTEXT, HAS_PROPERTIES, coded, container, num, text, uid, \
    unit
from .document import X_RAY_RADIATION_DOSE_SR, DoseDocument

DATA = Path(__file__).with_name("data")
SCT = "SCT"
PROCEDURE = {"ct": Code("77477000", SCT, "Computed Tomography X-Ray"),
             "projection": codes.DCM.ProjectionXRay, "mammography": Code("71651007", SCT, "Mammography")}
SOURCE_OF_DOSE = {"header": codes.DCM.CopiedFromImageAttributes, "ocr": codes.DCM.DerivedFromHumanReadableReports}
ESTIMATED = codes.DCM.ComputedFromImageAttributes
DATETIME_STARTED = Code("111526", "DCM", "DateTime Started")
LATERALITY = Code("272741003", SCT, "Laterality")
ACCUMULATED_AGD = ("DCM", "111637")
# the sub-containers of a CT acquisition (TID 10013, 10014) and the fields each holds; the rest sit in the event
CT_PARAMETERS = ("exposure_time_s", "scan_length_mm", "single_collimation_mm", "total_collimation_mm", "pitch",
                 "xray_source_count")
CT_SOURCE = ("kvp", "tube_current_mA", "max_tube_current_mA", "exposure_time_per_rotation_s")
CT_DOSE = ("ctdivol_mGy", "phantom", "dlp_mGycm", "effective_dose_mSv", "ssde_mGy")
TEMPLATE = {"ct": "10011", "projection": "10001"}
# a field the table gives two concepts, by the template of the event: TID 10003b's exposure time, not TID 10014's
PROJECTION_CONCEPTS = {"exposure_time_s": (Code("113735", "DCM", "Exposure Time"), "s")}


class NotConvertible(ValueError):
    """The records give no report Kerma can build (no dose, another source, radiopharmaceuticals, several kinds)."""


@lru_cache(maxsize=1)
def _codes() -> dict[tuple[str, str], Code]:
    with (DATA / "coded_values.csv").open(newline="", encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {(r["field"], r["label"]): Code(r["code"], r["scheme"], r["meaning"]) for r in rows}


@lru_cache(maxsize=None)
def _concepts(scope: str) -> dict[str, tuple[Code, str | None]]:
    """field -> (concept, unit) of a scope of the extractor's table (a concept with a retired SRT twin: the SCT one;
    one inside a Dose Check container: left out, headers have no Dose Check)."""
    out: dict[str, tuple[Code, str | None]] = {}
    for (row_scope, within, key), row in concept_table().values.items():
        if row_scope != scope or within is not None or (row.field in out and key[0] == "SRT"):
            continue
        if row.field not in out or out[row.field][0].scheme_designator == "SRT":
            out[row.field] = (Code(key[1], key[0], row.meaning or key[1]), row.unit)
    return out


def header_dose_report(records: Sequence[DoseRecord], evidence: Sequence[Dataset], *, when: dt.datetime,
                       sop_instance_uid: str | None = None, series_instance_uid: str | None = None) -> DoseDocument:
    """The X-Ray Radiation Dose SR of one study's header (or dose-screen) records.

    Parameters
    ----------
    records : sequence of kerma.record.DoseRecord
        :func:`kerma.extract.extract` results of the study's images (``ok`` records with source ``header`` or
        ``ocr``; others are left out).
    evidence : sequence of pydicom.dataset.Dataset
        The images' headers (patient, study and equipment are the first one's; all are listed as evidence).
    when : datetime.datetime
        The moment it is made (Kerma's clock).
    sop_instance_uid, series_instance_uid : str, optional
        Default: derived from the study and the records, so that building it again gives the same object.

    Raises
    ------
    NotConvertible
        When the records hold no header or dose-screen dose of one kind (CT or projection X-ray).
    """
    used = [r for r in records if r.ok and r.source in SOURCE_OF_DOSE]
    kinds = {r.report_kind for r in used}
    if not used or len(kinds) != 1 or not kinds <= set(TEMPLATE):
        raise NotConvertible(f"no header or dose-screen dose of one kind (CT or projection X-ray): {sorted(kinds)}")
    kind = kinds.pop()
    study = resolve_study(used)
    events, totals = study["events"], study["totals"]
    if not events:
        raise NotConvertible("no exposure in the records")
    first = used[0]
    modality = first.modality
    study_uid = first.study_instance_uid or str(evidence[0].get("StudyInstanceUID", ""))
    sources = {r.source for r in used}
    estimated = any(e.get("dlp_estimated") for e in events)
    root = container(codes.DCM.XRayRadiationDoseReport, relationship=None, template_id=TEMPLATE[kind], children=[
        coded(codes.DCM.ProcedureReported, PROCEDURE["mammography" if modality == "MG" else kind], HAS_CONCEPT_MOD),
        *_observer(first.device),
        coded(codes.DCM.ScopeOfAccumulation, codes.DCM.Study, HAS_OBS_CONTEXT,
              children=[uid(codes.DCM.StudyInstanceUID, study_uid, HAS_PROPERTIES)]),
        _accumulated(kind, totals, len(events)),
        *(_event(kind, e) for e in events),
        *(coded(codes.DCM.SourceOfDoseInformation, SOURCE_OF_DOSE[s]) for s in sorted(sources)),
        coded(codes.DCM.SourceOfDoseInformation, ESTIMATED) if estimated else None,
    ])
    device = first.device
    identities = sorted(str(r.sop_instance_uid) for r in used)
    document = DoseDocument(
        evidence, root, sop_class_uid=X_RAY_RADIATION_DOSE_SR,
        series_instance_uid=series_instance_uid or generate_uid(entropy_srcs=[study_uid, "header dose report"]),
        sop_instance_uid=sop_instance_uid or generate_uid(entropy_srcs=[study_uid, *identities]),
        series_number=9002, instance_number=1, when=when, manufacturer=device.manufacturer or "",
        manufacturer_model_name=device.model, device_serial_number=device.serial_number, series_description="Dose report from image headers",
        contributing_equipment=[identity.contributing(
            identity.PROCESSING, when, "X-Ray Radiation Dose SR built from "
            + " and ".join({"header": "image headers", "ocr": "dose screens"}[s] for s in sorted(sources)))])
    if device.station_name:
        document.StationName = device.station_name
    for keyword in ("SoftwareVersions", "PatientAge", "PatientSize", "PatientWeight", "InstitutionName",
                    "PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence"):
        value = evidence[0].get(keyword)
        if value not in (None, ""):
            setattr(document, keyword, value)
    if "PatientAge" in document and not re.fullmatch(r"\d{3}[DWMY]", str(document.PatientAge)):
        del document.PatientAge  # written malformed by the device ("56Y"): not copied
    return document


def _observer(device: Device) -> list:
    """The device as the images name it (TID 1004); its UID the images' Device UID, else one derived from its
    manufacturer, model, serial number and station (the same device, the same UID)."""
    observer_uid = device.device_observer_uid or generate_uid(entropy_srcs=[
        "device", *(str(v or "") for v in (device.manufacturer, device.model, device.serial_number, device.station_name))])
    return list(hd.sr.ObserverContext(codes.DCM.Device, hd.sr.DeviceObserverIdentifyingAttributes(
        uid=observer_uid, name=device.station_name, manufacturer_name=device.manufacturer,
        model_name=device.model, serial_number=device.serial_number)))


def _accumulated(kind: str, totals: dict, event_count: int):
    concepts = _concepts("totals")
    if kind == "ct":
        return container(codes.DCM.CTAccumulatedDoseData, children=[
            num(concepts["reported_event_count"][0], event_count, unit("{events}", "events")),
            _value(concepts, "ct_dlp_total_mGycm", totals.get("ct_dlp_total_mGycm"))])
    items = [coded(codes.DCM.AcquisitionPlane, codes.DCM.SinglePlane, HAS_CONCEPT_MOD)]
    for field in ("dap_total_Gycm2", "ka_r_total_mGy"):
        items.append(_value(concepts, field, totals.get(field)))
    for side in ("Left", "Right", "Both"):  # TID 10005: the accumulated AGD of each breast
        value = totals.get(f"agd_total_{side.lower()}_mGy")
        if value is not None:
            (concept, ucum) = concepts["agd_total_mGy"]
            items.append(num(concept, value, unit(ucum), significant=None, children=[
                coded(LATERALITY, _codes()[("laterality", side)], HAS_CONCEPT_MOD)]))
    return container(codes.DCM.AccumulatedXRayDoseData, children=items)


def _event(kind: str, event: dict):
    concepts = _concepts("event")
    started = event.get("datetime_started") or (event.get("image") or {}).get("acquisition_datetime")
    common = [_value(concepts, "protocol", event.get("protocol")),
              _value(concepts, "irradiation_event_uid", event.get("irradiation_event_uid")),
              _datetime(started)]
    if kind == "ct":
        sources = _concepts("xray_sources")
        return container(codes.DCM.CTAcquisition, children=[
            *common, _value(concepts, "acquisition_type", event.get("acquisition_type")),
            container(codes.DCM.CTAcquisitionParameters, children=[
                *(_value(concepts, f, event.get(f)) for f in CT_PARAMETERS),
                _nonempty(container(codes.DCM.CTXRaySourceParameters, children=[
                    _value(sources, f, event.get(f)) for f in CT_SOURCE]))]),
            _nonempty(container(codes.DCM.CTDose, children=[_value(concepts, f, event.get(f)) for f in CT_DOSE])),
            *(_value(concepts, f, event.get(f)) for f in ("modulation_type", "comment")),
        ])
    placed = {"protocol", "irradiation_event_uid", "datetime_started", *CT_PARAMETERS, *CT_DOSE} - {"exposure_time_s"}
    concepts = {**concepts, **PROJECTION_CONCEPTS}
    return container(codes.DCM.IrradiationEventXRayData, children=[
        coded(codes.DCM.AcquisitionPlane, codes.DCM.SinglePlane),
        *common,
        *(_value(concepts, f, v) for f, v in event.items() if f not in placed and f in concepts),
    ])


def _value(concepts: dict, field: str, value):
    """The content item of one field's value: NUM in its unit, CODE from the coded values, UIDREF, or TEXT."""
    if value is None or field not in concepts or isinstance(value, (list, dict, bool)):
        return None
    concept, ucum = concepts[field]
    if ucum is not None:
        return num(concept, value, unit(ucum), significant=None) if isinstance(value, (int, float)) else None
    if field.endswith("_uid"):
        return uid(concept, str(value))
    if any(f == field for f, _ in _codes()):
        return coded(concept, _codes().get((field, str(value))))  # a label without a code: left out
    return text(concept, str(value))


def _datetime(value: str | None):
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return hd.sr.DateTimeContentItem(DATETIME_STARTED, moment, relationship_type=CONTAINS)


def _nonempty(item):
    return item if "ContentSequence" in item else None
