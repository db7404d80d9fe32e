"""Patient, study and device identity from the DICOM header, common to every extractor."""

from __future__ import annotations

from .dicomfile import DicomObject
from .dicomtime import age_between, age_in_years, iso_date, iso_time

SOP_CLASS_UID = 0x00080016
SOP_INSTANCE_UID = 0x00080018
MODALITY = 0x00080060
SERIES_INSTANCE_UID = 0x0020000E

_PATIENT = {
    "patient_id": 0x00100020,
    "name": 0x00100010,
    "sex": 0x00100040,
    "birth_date": 0x00100030,
    "age": 0x00101010,
    "height_m": 0x00101020,
    "weight_kg": 0x00101030,
}
_STUDY = {
    "study_instance_uid": 0x0020000D,
    "accession_number": 0x00080050,
    "study_id": 0x00200010,
    "study_date": 0x00080020,
    "study_time": 0x00080030,
    "study_description": 0x00081030,
    "requested_procedure": 0x00321060,
    "performed_procedure": 0x00400254,
    "institution_name": 0x00080080,
    "department": 0x00081040,
}
_DEVICE = {
    "manufacturer": 0x00080070,
    "model": 0x00081090,
    "station_name": 0x00081010,
    "serial_number": 0x00181000,
    "software_versions": 0x00181020,
}


def patient(obj: DicomObject) -> dict:
    ds = obj.elements
    out = {k: obj.text(ds, t) for k, t in _PATIENT.items() if k not in ("height_m", "weight_kg", "age")}
    out["birth_date"] = _readable(obj, out["birth_date"], iso_date, "Patient's Birth Date (0010,0030)", "a date")
    out["age_years"] = _readable(obj, obj.text(ds, _PATIENT["age"]), age_in_years, "Patient's Age (0010,1010)", "an age")
    for name, attribute in (("height_m", "Patient's Size (0010,1020)"), ("weight_kg", "Patient's Weight (0010,1030)")):
        tag = _PATIENT[name]
        out[name] = _positive(_readable(obj, obj.text(ds, tag), lambda _: obj.number(ds, tag), attribute, "a number"))
    return out


def study(obj: DicomObject) -> dict:
    ds = obj.elements
    out = {k: obj.text(ds, t) for k, t in _STUDY.items()}
    out["study_date"] = _readable(obj, out["study_date"], iso_date, "Study Date (0008,0020)", "a date")
    out["study_time"] = _readable(obj, out["study_time"], iso_time, "Study Time (0008,0030)", "a time")
    return out


def device(obj: DicomObject) -> dict:
    return {k: obj.text(obj.elements, t) for k, t in _DEVICE.items()}


def complete_age(patient_fields: dict, study_date: str | None) -> None:
    """Fill ``age_years`` from the birth date when the header gives no Patient's Age."""
    if patient_fields.get("age_years") is None:
        patient_fields["age_years"] = age_between(patient_fields.get("birth_date"), study_date)


def _readable(obj: DicomObject, text: str | None, decode, attribute: str, what: str):
    """``decode(text)``; a present value that does not decode is absent, with a warning on the object (no value in it)."""
    if text is None:
        return None
    value = decode(text)
    if value is None:
        obj.warnings.append(f"{attribute} is not {what}: ignored")
    return value


def _positive(value: float | None) -> float | None:
    # 0 in Patient's Size/Weight means "not measured" in practice: absent, not zero
    return value if value else None
