"""SR documents of the dose SOP classes, built by highdicom.

highdicom's public SR classes are Enhanced, Comprehensive and Comprehensive 3D SR; the dose SOP classes
(X-Ray Radiation Dose SR, Patient Radiation Dose SR) are SR documents of the same modules with another SOP Class
UID, so they are built on highdicom's SR base class, which takes the SOP class as a parameter and does the rest
(SR Document General and Content modules, patient and study copied from the evidence, the evidence listed).
Dates and times come from Kerma's clock, not from the system's.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Sequence

from highdicom.sr.sop import _SR
from pydicom.dataset import Dataset
from pydicom.valuerep import DA, TM

X_RAY_RADIATION_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
# type 3 sequences of the General Study module highdicom copies from the evidence: an empty one is invalid there
OPTIONAL_STUDY_SEQUENCES = ("ProcedureCodeSequence", "ReferencedStudySequence")
PATIENT_RADIATION_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.73"


class DoseDocument(_SR):
    """An SR document of a dose SOP class.

    Parameters
    ----------
    evidence : sequence of pydicom.dataset.Dataset
        The objects the content was made from (dose reports, images; their headers suffice): patient and study
        are copied from the first, and all are listed as evidence.
    content : pydicom.dataset.Dataset
        The root CONTAINER content item.
    sop_class_uid, series_instance_uid, sop_instance_uid : str
    series_number, instance_number : int
    when : datetime.datetime
        The moment of creation (Kerma's clock), for the content and instance creation date and time.
    **kwargs
        Passed to highdicom (``manufacturer``, ``manufacturer_model_name``, ``software_versions``,
        ``series_description``, ``contributing_equipment``, ``coding_schemes``...).
    """

    def __init__(self, evidence: Sequence[Dataset], content: Dataset, *, sop_class_uid: str,
                 series_instance_uid: str, sop_instance_uid: str, series_number: int, instance_number: int,
                 when: dt.datetime, **kwargs):
        local = when.astimezone() if when.tzinfo else when
        evidence = [_presentable(evidence[0]), *evidence[1:]] if evidence else evidence
        super().__init__(evidence=evidence, content=content, series_instance_uid=series_instance_uid,
                         series_number=series_number, sop_instance_uid=sop_instance_uid,
                         sop_class_uid=sop_class_uid, instance_number=instance_number, is_complete=True,
                         content_date=local.date(), content_time=local.time().replace(microsecond=0),
                         # UTF-8 whatever the evidence declared (or left empty): texts hold ×, −, ±, and the
                         # evidence's names are re-encoded
                         specific_character_set="ISO_IR 192", **kwargs)
        for keyword in OPTIONAL_STUDY_SEQUENCES:
            if keyword in self and not self[keyword].value:
                del self[keyword]
        if self.get("PatientIdentityRemoved") == "YES" and not self.get("DeidentificationMethod") \
                and not self.get("DeidentificationMethodCodeSequence"):
            self.DeidentificationMethod = "not stated by the evidence"
        if any(k in self for k in ("PatientSpeciesDescription", "PatientSpeciesCodeSequence")) \
                and "PatientSexNeutered" not in self:
            self.PatientSexNeutered = ""  # type 2C for an animal: unknown
        self.InstanceCreationDate = DA(local.date())
        self.InstanceCreationTime = TM(local.time().replace(microsecond=0))


# the patient and study attributes highdicom copies from the first evidence, with the values it accepts
TYPE_2 = ("PatientID", "PatientName", "PatientBirthDate", "PatientSex", "AccessionNumber", "StudyID", "StudyDate",
          "StudyTime", "ReferringPhysicianName")
DATES = ("PatientBirthDate", "StudyDate")
SEXES = ("M", "F", "O")


def _presentable(header: Dataset) -> Dataset:
    """A copy of an evidence header whose type 2 patient and study attributes are present and valid: a device's
    missing or malformed value (a sex ``?``, a date ``00000000``) is empty, as type 2 allows for unknown."""
    out = copy.deepcopy(header)
    for keyword in TYPE_2:
        if keyword not in out or out[keyword].value is None:
            setattr(out, keyword, "")
    if str(out.PatientSex).strip() not in SEXES:
        out.PatientSex = ""
    for keyword in DATES:
        if out[keyword].value and not _valid_date(str(out[keyword].value)):
            setattr(out, keyword, "")
    if out.StudyTime and not re.fullmatch(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?", str(out.StudyTime).strip()):
        out.StudyTime = ""
    return out


def _valid_date(value: str) -> bool:
    try:
        dt.date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return False
    return len(value.strip()) == 8
