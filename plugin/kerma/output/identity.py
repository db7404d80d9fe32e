"""Who wrote it: Kerma as the equipment of the objects it creates, and its mark on them.

Objects Kerma stores back into Orthanc (the Patient Radiation Dose SR, the dose summary) name Kerma as their
General Equipment and carry a private block (creator ``KERMA OUTPUT``) saying what they are, so that Kerma's
extractor recognises them and never counts them as new dose (:mod:`kerma.extract.own_output`).  Dose reports
Kerma converts from image headers, MPPS or dose screens keep the irradiating device as their equipment and name
Kerma in the Contributing Equipment Sequence instead (PS3.3 C.12.1.1.5): they are that device's dose.
"""

from __future__ import annotations

import datetime as dt

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from .. import __version__
from ..extract import own_output

MANUFACTURER = own_output.MANUFACTURER
MODEL = own_output.MODEL
SOFTWARE_VERSIONS = f"Kerma {__version__}"
# kinds written in (0099,xx01)
PATIENT_DOSE_ESTIMATES = "patient radiation dose estimates"
DOSE_SUMMARY = "dose summary"


def mark(ds: Dataset, kind: str) -> None:
    """Name Kerma as the object's equipment and add its private block with ``kind`` (an object Kerma keeps)."""
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = MODEL
    ds.SoftwareVersions = SOFTWARE_VERSIONS
    block = ds.private_block(own_output.PRIVATE_GROUP, own_output.PRIVATE_CREATOR, create=True)
    block.add_new(own_output.KIND_OFFSET, "LO", kind)


def contributing(purpose, when: dt.datetime, description: str) -> hd.ContributingEquipment:
    """Kerma as contributing equipment (``purpose``: a code of CID 7005, e.g. processing or de-identifying); an item
    of the Contributing Equipment Sequence (0018,A001)."""
    return hd.ContributingEquipment(MANUFACTURER, purpose, manufacturer_model_name=MODEL,
                                    software_versions=SOFTWARE_VERSIONS, contribution_datetime=when,
                                    contribution_description=description)


PROCESSING = codes.DCM.ProcessingEquipment
DE_IDENTIFYING = codes.DCM.DeIdentifyingEquipment
