"""Dose records from a Modality Performed Procedure Step (MPPS): what the modality said it did, and with what dose.

Which attributes are read, at which level (patient, requested procedure, step, the Radiation Dose module's
totals, each item of its Exposure Dose Sequence), in which unit the standard writes them and which field
they fill is data (``data/mpps_attributes.csv``): units are converted here, once.

Two functions make the interface:

* :func:`step_facts` gives the :class:`StepFacts` Kerma keeps as columns of an MPPS instance (state,
  study, accession number, patient, modality) whatever its content;
* :func:`dose_report` gives the record of a finished step in the shape :func:`kerma.extract.extract` gives
  (``source: "mpps"``), or None when its Radiation Dose module holds no measured value.

Pure: a pydicom ``Dataset`` in (as pynetdicom decodes N-CREATE and N-SET), plain values out.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.datadict import dictionary_VM, tag_for_keyword
from pydicom.multival import MultiValue

from ..record import Device, DoseRecord, Event, Patient, StudyInfo, Totals
from .concepts import event_fields, value_labels
from .dicomtime import iso_date, iso_time
from .identity import complete_age
from .totals import complete_totals
from .units import UnitError, convert

DATA = Path(__file__).with_name("data") / "mpps_attributes.csv"
MPPS_SOP_CLASS = "1.2.840.10008.3.1.2.3.3"  # Modality Performed Procedure Step SOP Class (PS3.4 F.7)
SCHEDULED_STEP_ATTRIBUTES = 0x00400270
EXPOSURE_DOSE_SEQUENCE = 0x0040030E
STATUS = 0x00400252
MODALITY = 0x00080060
DISCONTINUATION_REASON = 0x00400281
CODE_MEANING = 0x00080104

# PS3.3 C.4.14: Performed Procedure Step Status (0040,0252), enumerated values
IN_PROGRESS, COMPLETED, DISCONTINUED = "IN PROGRESS", "COMPLETED", "DISCONTINUED"
STATES = {IN_PROGRESS: "in_progress", COMPLETED: "completed", DISCONTINUED: "discontinued"}


@dataclass(frozen=True, slots=True)
class AttributeRow:
    """One row of ``mpps_attributes.csv``."""

    level: str
    keyword: str
    tag: int | None  # None for a private attribute
    private: tuple[str, int, int] | None  # (creator, group, element offset)
    field: str
    dicom_unit: str | None
    unit: str | None

    @property
    def is_measurement(self) -> bool:
        return self.unit is not None


@dataclass(frozen=True, slots=True)
class StepFacts:
    """What Kerma indexes of an MPPS instance, read from its attributes as they stand.

    Attributes
    ----------
    state : str or None
        ``in_progress``, ``completed``, ``discontinued``; None when Performed Procedure Step Status is absent
        or not one of its enumerated values.
    status_value : str or None
        Performed Procedure Step Status (0040,0252) as sent.
    modality, study_instance_uid, accession_number, patient_id : str or None
        Modality (0008,0060); Study Instance UID and Accession Number of the first Scheduled Step Attributes item;
        Patient ID (0010,0020).
    performed_date : str or None
        Performed Procedure Step Start Date, ISO 8601.
    discontinuation_reason : str or None
        The Code Meaning of Performed Procedure Step Discontinuation Reason Code Sequence (0040,0281).
    """

    state: str | None
    status_value: str | None
    modality: str | None
    study_instance_uid: str | None
    accession_number: str | None
    patient_id: str | None
    performed_date: str | None
    discontinuation_reason: str | None


@lru_cache(maxsize=1)
def attribute_rows() -> tuple[AttributeRow, ...]:
    rows = []
    with open(DATA, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(line for line in fh if not line.startswith("#")):
            keyword, private, tag = r["attribute"], None, None
            if " " in keyword:  # CREATOR (gggg,xxEE)
                creator, _, where = keyword.partition(" ")
                group, element = where.strip("()").split(",")
                private = (creator, int(group, 16), int(element[2:], 16))
            else:
                tag = tag_for_keyword(keyword)
                if tag is None:
                    raise ValueError(f"mpps_attributes.csv: unknown DICOM keyword {keyword}")
            rows.append(AttributeRow(r["level"], keyword, tag, private, r["field"], r["dicom_unit"] or None,
                                     r["unit"] or None))
    return tuple(rows)


def step_facts(attributes: Dataset) -> StepFacts:
    """The indexed facts of an MPPS instance (see :class:`StepFacts`)."""
    status = _text(attributes.get(STATUS))
    request = _first_item(attributes, SCHEDULED_STEP_ATTRIBUTES)
    reasons = _first_item(attributes, DISCONTINUATION_REASON)
    fields = {}
    for row in attribute_rows():
        if row.level in ("request", "study", "patient") and fields.get(row.field) is None:
            fields[row.field] = _read(request if row.level == "request" else attributes, row, [])
    return StepFacts(
        state=STATES.get((status or "").upper()),
        status_value=status,
        modality=(_text(attributes.get(MODALITY)) or "").upper() or None,
        study_instance_uid=fields["study_instance_uid"],
        accession_number=fields["accession_number"],
        patient_id=fields["patient_id"],
        performed_date=fields["study_date"],
        discontinuation_reason=_text(reasons.get(CODE_MEANING)) if reasons is not None else None,
    )


def dose_report(attributes: Dataset, sop_instance_uid: str) -> DoseRecord | None:
    """The record (``source: "mpps"``) of a finished MPPS instance, or None when it reports no measured dose value.

    ``totals`` are the Radiation Dose module's values that add up over a study's steps (DAP, fluoroscopy time,
    exposures, entrance and organ dose) plus what its events add up to (as an RDSR's), with the step's other
    values (distances, HVL, exposed area...) in ``totals.procedure_step``; ``events`` one per Exposure Dose
    Sequence item that holds a measured value.  A value that is not a finite, non-negative number in its unit is
    left out with a warning.
    """
    warnings: list[str] = []
    request = _first_item(attributes, SCHEDULED_STEP_ATTRIBUTES)
    parts: dict[str, dict] = {"patient": {}, "study": {}, "request": {}, "device": {}, "totals": {}, "step": {}}
    for row in attribute_rows():
        if row.level == "event" or parts[row.level].get(row.field) is not None:
            continue
        parts[row.level][row.field] = _read(request if row.level == "request" else attributes, row, warnings)
    totals = {k: v for k, v in parts["totals"].items() if v is not None}
    step = {k: v for k, v in parts["step"].items() if v is not None}
    events = [e for e in (_event(item, warnings) for item in attributes.get(EXPOSURE_DOSE_SEQUENCE) or []) if e]
    if not events and not totals:
        return None
    if step:
        totals["procedure_step"] = step  # values of this step that do not add up over a study's steps
    facts = step_facts(attributes)
    modality = facts.modality
    kind = {"CT": "ct", "NM": "radiopharmaceutical", "PT": "radiopharmaceutical"}.get(modality or "", "projection")
    study = {"study_instance_uid": parts["request"]["study_instance_uid"],
             "accession_number": parts["request"]["accession_number"],
             "requested_procedure": parts["request"]["requested_procedure"], **parts["study"]}
    patient = dict(parts["patient"])
    complete_age(patient, study.get("study_date"))
    if facts.state == "discontinued":
        warnings.append("the modality discontinued this procedure step"
                        + (f" ({facts.discontinuation_reason})" if facts.discontinuation_reason else "")
                        + ": its dose was delivered, the examination may be incomplete")
    return DoseRecord(
        "ok", None, "mpps", sop_instance_uid, MPPS_SOP_CLASS, None, study["study_instance_uid"],
        modality="NM" if kind == "radiopharmaceutical" else modality, report_kind=kind, patient=Patient(**patient),
        study=StudyInfo(**study), device=Device(**parts["device"]), totals=Totals(complete_totals(kind, totals, events)),
        events=tuple(map(Event, events)), warnings=tuple(warnings),
    )


def _event(item: Dataset, warnings: list[str]) -> dict | None:
    values: dict = {}
    for row in attribute_rows():
        if row.level == "event" and values.get(row.field) is None:
            values[row.field] = _read(item, row, warnings)
    if not any(values.get(r.field) is not None for r in attribute_rows() if r.level == "event" and r.is_measurement):
        return None  # an item with only words (a comment, a radiation mode) describes no exposure
    return {**dict.fromkeys(event_fields()), **values}


def _first_item(attributes: Dataset, tag: int) -> Dataset | None:
    items = attributes.get(tag)
    return items.value[0] if items is not None and items.VR == "SQ" and len(items.value) else None


def _element(item: Dataset | None, row: AttributeRow):
    if item is None:
        return None
    if row.private is None:
        return item.get(row.tag)
    creator, group, offset = row.private
    try:
        return item.private_block(group, creator)[offset]
    except KeyError:
        return None


def _read(item: Dataset | None, row: AttributeRow, warnings: list[str]):
    element = _element(item, row)
    if element is None or element.value in (None, "", b"") or (element.VR == "SQ" and not element.value):
        return None
    kind = row.dicom_unit
    if kind is None:
        return _text(element)
    if kind == "date":
        return iso_date(_text(element))
    if kind == "time":
        return iso_time(_text(element))
    if kind == "code":
        return _text(element.value[0].get(CODE_MEANING)) if element.VR == "SQ" else None
    if kind == "label":
        text = _text(element)
        return value_labels().get(("CS", text.upper()), text) if text else None
    return _measurement(element, row, warnings)


def _measurement(element, row: AttributeRow, warnings: list[str]):
    raw = element.value
    if isinstance(raw, bytes):  # a private attribute received without its VR (implicit VR, unknown to pydicom)
        raw = raw.decode("ascii", "replace").strip("\x00 ").split("\\")
    raw = list(raw) if isinstance(raw, (list, MultiValue)) else [raw]
    values = []
    for value in raw:
        try:
            number = float(value)
        except (TypeError, ValueError):
            warnings.append(f"{row.keyword}: {str(value)[:40]!r} is not a number, left out")
            return None
        if not math.isfinite(number) or number < 0:
            warnings.append(f"{row.keyword}: {number} is not a possible value, left out")
            return None
        try:
            values.append(convert(number, row.dicom_unit, row.unit))
        except UnitError as exc:
            warnings.append(f"{row.keyword}: {exc}")
            return None
    if row.tag is not None and dictionary_VM(row.tag) != "1":
        return values or None  # e.g. Exposed Area: rows and columns, or a diameter
    if len(values) != 1:
        warnings.append(f"{row.keyword}: {len(values)} values where the standard allows one, left out")
        return None
    return values[0]


def _text(element) -> str | None:
    if element is None or element.value is None:
        return None
    value = element.value
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = "\\".join(str(v) for v in value) if isinstance(value, (list, tuple, MultiValue)) else str(value)
    text = text.replace("\x00", "").strip()
    return text or None
