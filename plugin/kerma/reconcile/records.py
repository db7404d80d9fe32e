"""The patient and order fields of a study that merges and reassignments change, and undo restores."""

from __future__ import annotations

import datetime as dt

from ..db.models import PatientRecord, Study

# Study column -> PatientRecord column
PATIENT_COLUMNS = {"patient_id": "patient_id", "patient_name": "name", "patient_birth_date": "birth_date",
                   "patient_sex": "sex"}
ASSIGNMENT_COLUMNS = (*PATIENT_COLUMNS, "accession_number", "order_id")


class NotFound(LookupError):
    """The record an action names does not exist."""


class Conflict(ValueError):
    """The action cannot be done in the record's present state (already undone, changed since)."""


def snapshot(study: Study, columns=ASSIGNMENT_COLUMNS) -> dict:
    """The study's values of ``columns``, JSON-able (dates as ISO text)."""
    values = {}
    for column in columns:
        value = getattr(study, column)
        values[column] = value.isoformat() if isinstance(value, dt.date) else value
    return values


def restore(study: Study, values: dict) -> None:
    """Write a :func:`snapshot` back."""
    for column, value in values.items():
        if column == "patient_birth_date" and value is not None:
            value = dt.date.fromisoformat(value)
        setattr(study, column, value)


def give_to_patient(study: Study, patient_id: str, record: PatientRecord | None) -> None:
    """The study now belongs to ``patient_id``; its demographics become the HIS's when the HIS knows the patient."""
    study.patient_id = patient_id
    if record is None:
        return
    for study_column, record_column in PATIENT_COLUMNS.items():
        value = getattr(record, record_column)
        if value is not None:
            setattr(study, study_column, value)
