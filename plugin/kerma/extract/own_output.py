"""Kerma's own DICOM output, recognised so that it is never counted as new dose.

What Kerma writes back into Orthanc (the Patient Radiation Dose SR of its estimates, the dose summary) carries
its mark: a private block of the creator ``KERMA OUTPUT`` in group 0099 saying what it is, and ``Kerma`` with
the model ``Kerma dose management system`` as the equipment (General Equipment module).  Either one is enough (a
PACS may strip private attributes on the way back); dose reports Kerma builds for a registry from image headers are dose reports of the device that
irradiated, not Kerma's, and carry neither (:mod:`kerma.output.identity` writes both marks).
"""

from __future__ import annotations

from .dicomfile import DicomObject

PRIVATE_GROUP = 0x0099
PRIVATE_CREATOR = "KERMA OUTPUT"
KIND_OFFSET = 0x01  # (0099,xx01) LO: what the object is ("patient radiation dose estimates", "dose summary")
MANUFACTURER = "Kerma"
MODEL = "Kerma dose management system"
MANUFACTURER_TAG = 0x00080070
MODEL_TAG = 0x00081090
REASON = "Kerma's own output"


def private_block(obj: DicomObject) -> int | None:
    """The block (0x10-0xFF) that Kerma's private creator reserves in the top-level dataset, None without one."""
    first, last = (PRIVATE_GROUP << 16) | 0x10, (PRIVATE_GROUP << 16) | 0xFF
    for tag in obj.elements:
        if first <= tag <= last and obj.text(obj.elements, tag) == PRIVATE_CREATOR:
            return tag & 0xFF
    return None


def is_own_output(obj: DicomObject) -> bool:
    """True for an object Kerma wrote: its private creator is there, or Kerma is the equipment (manufacturer and
    model: a device's report is never taken for Kerma's by a manufacturer name alone)."""
    return private_block(obj) is not None or (obj.text(obj.elements, MANUFACTURER_TAG) == MANUFACTURER
                                              and obj.text(obj.elements, MODEL_TAG) == MODEL)
