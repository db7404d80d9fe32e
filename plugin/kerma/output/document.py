"""SR documents of the dose SOP classes, built by highdicom.

highdicom's public SR classes are Enhanced, Comprehensive and Comprehensive 3D SR; the dose SOP classes
(X-Ray Radiation Dose SR, Patient Radiation Dose SR) are SR documents of the same modules with another SOP Class
UID, so they are built on highdicom's SR base class, which takes the SOP class as a parameter and does the rest
(SR Document General and Content modules, patient and study copied from the evidence, the evidence listed).
Dates and times come from Kerma's clock, not from the system's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from highdicom.sr.sop import _SR
from pydicom.dataset import Dataset
from pydicom.valuerep import DA, TM

X_RAY_RADIATION_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
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
        super().__init__(evidence=evidence, content=content, series_instance_uid=series_instance_uid,
                         series_number=series_number, sop_instance_uid=sop_instance_uid,
                         sop_class_uid=sop_class_uid, instance_number=instance_number, is_complete=True,
                         content_date=local.date(), content_time=local.time().replace(microsecond=0), **kwargs)
        # UTF-8 whatever the evidence declared: estimates' texts hold ×, −, ± (the evidence's names are re-encoded)
        self.SpecificCharacterSet = "ISO_IR 192"
        self.InstanceCreationDate = DA(local.date())
        self.InstanceCreationTime = TM(local.time().replace(microsecond=0))
