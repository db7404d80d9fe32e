"""De-identification of a dose report for a dose registry (IHE REM, Submit Dose Information).

DICOM PS3.15 Annex E's Basic Application Level Confidentiality Profile with the options a dose registry needs:
Retain Device Identity, Retain Patient Characteristics (age, sex, size, weight), Retain Longitudinal Temporal
Information with full or modified dates (``dates``: ``keep`` or ``shift``), and Clean Structured Content.  The
patient is a keyed pseudonym or nobody (``patient``: ``pseudonym`` or ``remove``); every instance UID is replaced by
a keyed hash, the same on every submission of the object, so that a registry stores a re-sent report once.

It is an allow-list: an attribute is kept only as ``data/deidentify_attributes.csv`` says (each row with why), at
any depth; every other attribute, private ones included, is left out.  SR content items are treated by their
concept (``data/deidentify_content.csv``) and otherwise by value type: text and person names become dummies, UIDs
are replaced, dates follow ``dates``, codes and numbers (the dose) are kept.  :func:`leaks` then looks for every
identifying value of the original in every element of the result, and :func:`deidentify` refuses to return a
result that holds one.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

from .. import privacy
from ..extract.dicomtime import age_between, iso_date
from . import identity

DATA = Path(__file__).with_name("data")
DUMMY = "REMOVED"
PATIENT_CHOICES = ("pseudonym", "remove")
DATE_CHOICES = ("keep", "shift")
DESCRIPTION_CHOICES = ("keep", "remove")
SHIFT_DAYS = 365  # a patient's dates move back by 1 to 365 days (``dates: shift``)
# value types whose content is dose or structure: kept unless their concept says otherwise
DEFAULT_BY_VALUE_TYPE = {"TEXT": "dummy", "PNAME": "dummy", "UIDREF": "uid", "DATE": "date", "DATETIME": "date"}
# the table's actions for value attributes of SR content items ("by its concept"), and what they are elsewhere
OUTSIDE_CONTENT = {"content_text": "dummy", "content_uid": "uid"}


def _table(name: str) -> list[dict]:
    with (DATA / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


ATTRIBUTES = {row["keyword"]: row["action"] for row in _table("deidentify_attributes.csv")}
CONTENT = {(row["scheme"], row["value"]): row["action"] for row in _table("deidentify_content.csv")}


class Leak(ValueError):
    """The result still holds a value that identifies the patient or the original object."""


@dataclass(frozen=True)
class Policy:
    """How to de-identify for one recipient (``Kerma.Registry``).

    ``purpose`` keys the pseudonyms and UID hashes: another recipient gets others, so the two cannot be linked.
    """

    secret: bytes
    patient: str = "pseudonym"
    dates: str = "keep"
    descriptions: str = "keep"
    purpose: str = "registry"

    def __post_init__(self):
        for name, value, allowed in (("patient", self.patient, PATIENT_CHOICES), ("dates", self.dates, DATE_CHOICES),
                                     ("descriptions", self.descriptions, DESCRIPTION_CHOICES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")

    def uid(self, value: str) -> str:
        return privacy.hashed_uid(self.secret, value, f"{self.purpose}-uid")


@dataclass
class _Context:
    policy: Policy
    patient_id: str
    shift: dt.timedelta


def deidentify(ds: Dataset, policy: Policy, when: dt.datetime) -> Dataset:
    """A de-identified copy of ``ds`` (a dose report) with new file meta information; ``ds`` is not changed.

    Raises
    ------
    Leak
        When an identifying value of the original would still be in the result (it is never returned then).
    """
    patient_id = str(ds.get("PatientID") or "")
    shift = dt.timedelta(0)
    if policy.dates == "shift":
        shift = dt.timedelta(days=privacy.keyed_days(policy.secret, f"{policy.purpose}-date-shift",
                                                     patient_id or str(ds.get("StudyInstanceUID", "")), SHIFT_DAYS))
    context = _Context(policy, patient_id, shift)
    out = _dataset(ds, context, None)
    _patient_characteristics(ds, out)
    _declare(out, policy, when)
    out.file_meta = _file_meta(out)
    found = leaks(ds, out)
    if found:
        raise Leak(f"{len(found)} identifying value(s) left in: " + ", ".join(sorted({p for p, _ in found})[:5]))
    return out


# --- the walk -----------------------------------------------------------------------------------------------------

def _dataset(ds: Dataset, context: _Context, item_rule: str | None) -> Dataset:
    out = Dataset()
    for element in ds:
        if element.tag.element == 0:  # group lengths: recomputed when written, if at all
            continue
        action = None if element.tag.is_private else ATTRIBUTES.get(element.keyword)
        if action is None:
            continue
        out.add(DataElement(element.tag, element.VR, _value(element, action, context, item_rule)))
    return out


def _value(element: DataElement, action: str, context: _Context, item_rule: str | None):
    policy = context.policy
    if action == "content":
        return Sequence([_content_item(i, context) for i in element.value if _content_rule(i) != "remove"])
    if action == "recurse":
        return Sequence([_dataset(i, context, None) for i in element.value])
    if action in OUTSIDE_CONTENT or (item_rule and element.keyword in ("PersonName", "Date", "DateTime")):
        action = item_rule or OUTSIDE_CONTENT[action]  # a value item outside SR content: by its value type
    if action == "keep":
        return element.value
    if action == "description":
        return element.value if policy.descriptions == "keep" else ""
    if action == "empty":
        return Sequence([]) if element.VR == "SQ" else ""
    if action == "dummy":
        return DUMMY if element.VR in ("PN", "LO", "SH", "LT", "ST", "UT", "UC") else ""
    if action == "uid":
        return _map(element.value, policy.uid)
    if action == "date":
        return _map(element.value, lambda v: _shift(v, element.VR, context.shift)) if context.shift else element.value
    if action in ("patient_id", "patient_name"):
        return privacy.pseudonym(policy.secret, context.patient_id, f"{policy.purpose}-patient") \
            if policy.patient == "pseudonym" and context.patient_id else ""
    if action == "age":
        return element.value
    raise ValueError(f"unknown de-identification action {action!r} for {element.keyword}")


def _content_rule(item: Dataset) -> str | None:
    """What the content tables say of an SR content item: by its concept, else by its value type."""
    names = item.get("ConceptNameCodeSequence") or []
    concept = (str(names[0].get("CodingSchemeDesignator", "")), str(names[0].get("CodeValue", ""))) if names else None
    rule = CONTENT.get(concept) if concept else None
    return rule or DEFAULT_BY_VALUE_TYPE.get(str(item.get("ValueType", "")))


def _content_item(item: Dataset, context: _Context) -> Dataset:
    return _dataset(item, context, _content_rule(item))


def _map(value, function):
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(value, (str, bytes)):
        return [function(str(v)) for v in value]
    return function(str(value)) if value not in (None, "") else value


def _shift(value: str, vr: str, shift: dt.timedelta) -> str:
    """A DA or DT value moved back by ``shift``; a value that is no full date is left empty."""
    text = value.strip()
    try:
        day = dt.date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError):
        return ""
    return (day - shift).strftime("%Y%m%d") + (text[8:] if vr == "DT" else "")


# --- what is added ------------------------------------------------------------------------------------------------

def _patient_characteristics(original: Dataset, out: Dataset) -> None:
    """Patient's Age from the birth date and the study date when the report gives none (the birth date goes)."""
    if str(out.get("PatientAge") or "").strip():
        return
    birth = iso_date(str(original.get("PatientBirthDate") or ""))
    study = iso_date(str(original.get("StudyDate") or ""))
    age = age_between(birth, study)
    if age is None:
        return
    if age >= 1:
        out.PatientAge = f"{min(int(age), 999):03d}Y"
    else:  # an infant: whole months (a registry's paediatric bands start below one year)
        b, d = dt.date.fromisoformat(birth), dt.date.fromisoformat(study)
        out.PatientAge = f"{(d.year - b.year) * 12 + d.month - b.month - (d.day < b.day):03d}M"


def _declare(out: Dataset, policy: Policy, when: dt.datetime) -> None:
    """Say what was done (PS3.15 E.1.1: Patient Identity Removed, De-identification Method and its codes)."""
    out.PatientIdentityRemoved = "YES"
    options = [codes.DCM.BasicApplicationConfidentialityProfile, codes.DCM.CleanStructuredContentOption,
               codes.DCM.RetainDeviceIdentityOption, codes.DCM.RetainPatientCharacteristicsOption,
               codes.DCM.RetainLongitudinalTemporalInformationFullDatesOption if policy.dates == "keep"
               else codes.DCM.RetainLongitudinalTemporalInformationModifiedDatesOption]
    if policy.descriptions == "remove":
        options.append(codes.DCM.CleanDescriptorsOption)
    items = []
    for option in options:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = option.value, option.scheme_designator, \
            option.meaning
        items.append(item)
    out.DeidentificationMethodCodeSequence = Sequence(items)
    # LO, one value per step (64 characters each): said in words besides the codes
    out.DeidentificationMethod = [
        f"Kerma {policy.purpose}"[:64], "PS3.15 Basic Profile", "device identity retained",
        "patient characteristics retained", "dates kept" if policy.dates == "keep" else "dates shifted",
        "patient pseudonymised" if policy.patient == "pseudonym" else "patient removed",
        "descriptors retained" if policy.descriptions == "keep" else "descriptors removed", "UIDs replaced",
        "private attributes removed"]
    out.LongitudinalTemporalInformationModified = "UNMODIFIED" if policy.dates == "keep" else "MODIFIED"
    equipment = list(out.get("ContributingEquipmentSequence") or [])
    equipment.append(identity.contributing(identity.DE_IDENTIFYING, when, "de-identified for a dose registry"))
    out.ContributingEquipmentSequence = Sequence(equipment)


def _file_meta(out: Dataset) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = out.SOPClassUID
    meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta


# --- the check ----------------------------------------------------------------------------------------------------

IDENTIFYING = ("PatientID", "PatientName", "PatientBirthDate", "AccessionNumber", "StudyID", "OtherPatientIDs",
               "OtherPatientNames", "PatientAddress", "InstitutionName", "InstitutionAddress", "ReferringPhysicianName",
               "PerformingPhysicianName", "OperatorsName", "RequestingPhysician", "PhysiciansOfRecord",
               "NameOfPhysiciansReadingStudy", "PatientMotherBirthName", "PatientTelephoneNumbers",
               "MedicalRecordLocator", "IssuerOfPatientID")
UID_CLASSES = ("SOPClassUID", "ReferencedSOPClassUID", "ContextUID", "CodingSchemeUID", "MappingResourceUID",
               "TransferSyntaxUID", "MediaStorageSOPClassUID", "ImplementationClassUID", "DeviceUID")


TEXT_VRS = ("LO", "SH", "ST", "LT", "UT", "UC", "PN")


@dataclass(frozen=True)
class Identifiers:
    """What identifies a report's patient, people and object: ``exact`` values no element may equal (identifiers,
    dates of birth, instance UIDs, names and their components) and ``phrases`` no text may contain (the identifiers
    and whole names, as written and with spaces for ``^``)."""

    exact: frozenset[str]
    phrases: frozenset[str]


def identifiers(ds: Dataset) -> Identifiers:
    """The identifying values of ``ds``: the identifying attributes at any depth, person names anywhere (SR content
    too) and every instance UID (the device's own UID apart)."""
    exact: set[str] = set()
    phrases: set[str] = set()

    def add(value, uid: bool = False) -> None:
        text = str(value).strip()
        if len(text) < 4 or text.upper() in ("NONE", DUMMY):
            return
        exact.add(text)
        if not uid:
            phrases.update({text, text.replace("^", " ").strip()})
            exact.update(p.strip() for p in text.replace("=", "^").split("^") if len(p.strip()) >= 4)

    def walk(item: Dataset) -> None:
        kept_uid = "ValueType" in item and _content_rule(item) == "keep"  # the device's own UID (TID 1004)
        for element in item:
            if element.VR == "SQ":
                for child in element.value:
                    walk(child)
            elif element.keyword in IDENTIFYING or element.VR == "PN":
                for value in _values(element):
                    add(value)
            elif element.VR == "UI" and element.keyword not in UID_CLASSES and not kept_uid:
                for value in _values(element):
                    add(value, uid=True)

    walk(ds)
    return Identifiers(frozenset(exact), frozenset(phrases))


def _values(element: DataElement) -> list:
    value = element.value
    if value is None:
        return []
    return list(value) if element.VM > 1 and not isinstance(value, (str, bytes)) else [value]


def leaks(original: Dataset, result: Dataset) -> list[tuple[str, str]]:
    """(element path, value) of every element of ``result`` (file meta and every depth) that equals an identifying
    value of ``original`` or, for text, contains one of its identifiers or names: none after a correct
    de-identification."""
    wanted = identifiers(original)
    out: list[tuple[str, str]] = []

    def walk(item: Dataset, path: str) -> None:
        for element in item:
            where = f"{path}{element.keyword or element.tag}"
            if element.VR == "SQ":
                for index, child in enumerate(element.value):
                    walk(child, f"{where}[{index}].")
                continue
            for value in _values(element):
                text = (value.decode("latin-1") if isinstance(value, bytes) else str(value)).strip()
                if text in wanted.exact or (element.VR in TEXT_VRS and any(p in text for p in wanted.phrases)):
                    out.append((where, text))

    walk(getattr(result, "file_meta", Dataset()), "meta.")
    walk(result, "")
    return out
