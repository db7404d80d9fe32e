"""What the HIS knows of a patient, applied to the patient's dose studies: audited, previous values kept.

* **Demographics** (name, birth date, sex): an ADT update (A01, A04, A08, A31) that changes a value the HIS
  had is a change of that patient's data: it is applied to the studies that agreed with the old value (or had
  none), and the age follows a new birth date.  A study that disagreed with the HIS before keeps its value, and
  so does a study that arrives later: a disagreement may be a study filed under the wrong patient, and is
  listed for reconciliation (``mismatches``), never overwritten unseen.
* **Height and weight** (OBX): a study takes the HIS's value when its DICOM header gave none, and follows the
  HIS's later values; a value from the header (measured or entered at the examination) is never replaced.
  ``patient_weight_source`` and ``patient_height_source`` say where each came from: ``dicom`` or ``his``.

Every study changed gets an audit entry with the values before and after.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..db.models import PatientRecord, Study
from ..extract.dicomtime import age_between
from .lists import name_key

DICOM, HIS = "dicom", "his"
# Study column -> PatientRecord column
DEMOGRAPHICS = {"patient_name": "name", "patient_birth_date": "birth_date", "patient_sex": "sex"}
# Study column -> (PatientRecord column, the Study column saying where the value came from)
SIZE = {"patient_height_m": ("height_m", "patient_height_source"),
        "patient_weight_kg": ("weight_kg", "patient_weight_source")}


def demographics_of(record: PatientRecord | None) -> dict:
    """The record's demographics (before an update changes them): PatientRecord column -> value."""
    return {field: getattr(record, field) if record is not None else None for field in DEMOGRAPHICS.values()}


def apply_record(session: Session, record: PatientRecord, studies: list[Study], actor: str, note: str,
                 previous: dict | None = None) -> list[Study]:
    """Give ``studies`` what the HIS record says; returns the studies that changed.

    ``previous``: the record's demographics before the message (:func:`demographics_of`); a changed value is
    applied to the studies that had the old one or none.  None: height and weight only.
    """
    changed = []
    for study in studies:
        before = {}
        for column, field in DEMOGRAPHICS.items() if previous is not None else ():
            value, ours = getattr(record, field), getattr(study, column)
            if value is not None and not _same(field, ours, value) and (ours is None or _same(field, ours, previous[field])):
                before[column] = ours
                setattr(study, column, value)
        for column, (field, source) in SIZE.items():
            value = getattr(record, field)
            if value is not None and getattr(study, source) != DICOM and getattr(study, column) != value:
                before[column], before[source] = getattr(study, column), getattr(study, source)
                setattr(study, column, value)
                setattr(study, source, HIS)
        if "patient_birth_date" in before and study.study_date is not None:
            age = age_between(study.patient_birth_date.isoformat(), study.study_date.isoformat())
            if age != study.patient_age_years:
                before["patient_age_years"] = study.patient_age_years
                study.patient_age_years = age
        if before:
            after = {column: getattr(study, column) for column in before}
            audit.record(session, actor, "study.his_update", "study", study.study_instance_uid,
                         before=before, after=after, note=note)
            changed.append(study)
    return changed


def apply_size_on_ingest(session: Session, studies: list[Study]) -> list[Study]:
    """Height and weight from the HIS for the studies of a batch whose headers gave none."""
    wanting = [s for s in studies if s.patient_id and any(getattr(s, c) is None for c in SIZE)]
    if not wanting:
        return []
    records = {r.patient_id: r for r in session.scalars(select(PatientRecord).where(
        PatientRecord.patient_id.in_({s.patient_id for s in wanting}),
        (PatientRecord.height_m.is_not(None)) | (PatientRecord.weight_kg.is_not(None))))}
    changed = []
    for study in wanting:
        record = records.get(study.patient_id)
        if record is not None:
            changed += apply_record(session, record, [study], "kerma", "height and weight from the HIS")
    return changed


def _same(field: str, ours, theirs) -> bool:
    """Whether a study's value and the HIS's are one value (names compared as the mismatch list compares them)."""
    if ours is None or theirs is None:
        return False
    if field == "name":
        return name_key(ours) == name_key(theirs)
    if field == "sex":
        return ours.upper() == theirs.upper()
    return ours == theirs


def from_header(session: Session, study: Study, column: str, value) -> None:
    """A DICOM header's value for a study column: it fills a gap, and replaces a height or weight the HIS gave."""
    source = SIZE[column][1] if column in SIZE else None
    replaces_his = source is not None and getattr(study, source) == HIS
    if getattr(study, column) is not None and not replaces_his:
        return  # the first object to name a value wins; later ones fill gaps
    if replaces_his and getattr(study, column) != value:
        audit.record(session, "kerma", "study.header_update", "study", study.study_instance_uid,
                     before={column: getattr(study, column), source: HIS}, after={column: value, source: DICOM},
                     note="measured value from the DICOM header replaces the HIS value")
    setattr(study, column, value)
    if source is not None:
        setattr(study, source, DICOM)
