"""CT images as the SSDE model reads them: each file's header once (no pixels), the pixels of chosen slices only.

``read_header`` gives a ``CtImage`` (what the model needs of one file); ``group_images`` puts axial images into
acquisitions (one per series and irradiation event, or acquisition number); ``ct_numbers`` decodes one slice to
Hounsfield units with its rescale slope and intercept. A transfer syntax with no decoder installed, or a broken
pixel data element, raises ``NotDecodable`` with the reason: the acquisition then says "not decodable".
Compressed pixel data is decoded by pydicom's plugins (pylibjpeg with libjpeg and OpenJPEG; RLE natively).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2.1"
# CTDI Phantom Type Code Sequence (0018,9346): DCM 113691 IEC Body Dosimetry Phantom, 113690 IEC Head
PHANTOM_CODES = {"113691": "body32", "113690": "head16"}
AXIAL_COSINE = 0.9   # |slice normal · z| above this: an axial slice (a gantry tilt of up to ~25° included)


class NotAnImage(ValueError):
    """The file is not a CT image the model can use (the message says why)."""


class NotDecodable(ValueError):
    """The slice's pixels cannot be decoded here (the message names the transfer syntax or the fault)."""


@dataclass(frozen=True)
class CtImage:
    """What the SSDE model needs from one CT image's header; ``None`` is absent.

    ``z_mm`` is the slice position along the slice normal; ``axial`` is True for a slice whose normal is along
    the patient's z axis; ``localizer`` for a localizer (scout, topogram) image, ``projection`` then being
    ``frontal`` (AP / PA: the image shows the patient's width) or ``lateral`` (shows the thickness), and
    ``z_down_columns`` True when z runs down the image's columns (each image row then lies across the patient).
    """

    path: str
    sop_class_uid: str
    study_instance_uid: str | None
    series_instance_uid: str | None
    acquisition_number: str | None
    irradiation_event_uid: str | None
    transfer_syntax: str | None
    rows: int | None
    columns: int | None
    pixel_mm: tuple[float, float] | None
    z_mm: float | None
    axial: bool
    localizer: bool
    projection: str | None
    z_down_columns: bool
    ctdivol_mGy: float | None
    phantom: str | None
    body_part: str | None
    series_description: str | None
    age_years: float | None
    has_pixels: bool


def _number(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _age(ds) -> float | None:
    text = str(ds.get("PatientAge") or "").strip().upper()
    if len(text) == 4 and text[:3].isdigit() and text[3] in "DWMY":
        return int(text[:3]) / {"D": 365.25, "W": 52.18, "M": 12.0, "Y": 1.0}[text[3]]
    return None


def _geometry(ds) -> tuple[float | None, bool, str | None, bool]:
    """Slice position along its normal, whether the slice is axial, a localizer's projection, z down the columns."""
    orientation = [_number(v) for v in (ds.get("ImageOrientationPatient") or [])]
    position = [_number(v) for v in (ds.get("ImagePositionPatient") or [])]
    if len(orientation) != 6 or None in orientation:
        return None, False, None, True
    row, col = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row, col)
    if not np.linalg.norm(normal):
        return None, False, None, True
    normal = normal / np.linalg.norm(normal)
    z = float(np.dot(normal, position)) if len(position) == 3 and None not in position else None
    axial = abs(normal[2]) >= AXIAL_COSINE
    projection = "frontal" if abs(normal[1]) >= AXIAL_COSINE else "lateral" if abs(normal[0]) >= AXIAL_COSINE else None
    return z, axial, projection, abs(col[2]) >= abs(row[2])


def read_header(path: str | Path) -> CtImage:
    """The header of one CT image file (pixel data not read).

    Raises
    ------
    NotAnImage
        Not a DICOM file, or not a CT image (a dose report, a secondary capture…).
    """
    try:
        ds = pydicom.dcmread(path, defer_size=1024)   # large values (the pixels) are not read, only located
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise NotAnImage(f"not a readable DICOM file: {exc}") from None
    sop_class = str(ds.get("SOPClassUID") or getattr(ds.file_meta, "MediaStorageSOPClassUID", "") or "")
    if sop_class not in (CT_IMAGE, ENHANCED_CT_IMAGE):
        raise NotAnImage(f"SOP class {sop_class or 'absent'} is not a CT image")
    spacing = [_number(v) for v in (ds.get("PixelSpacing") or [])]
    z, axial, projection, z_down_columns = _geometry(ds)
    image_type = [str(v).upper() for v in (ds.get("ImageType") or [])]
    localizer = "LOCALIZER" in image_type
    phantom = None
    for item in ds.get((0x0018, 0x9346)) or []:
        phantom = PHANTOM_CODES.get(str(item.get("CodeValue") or ""))
    ctdivol = _number(ds.get("CTDIvol"))
    return CtImage(
        path=str(path), sop_class_uid=sop_class,
        study_instance_uid=ds.get("StudyInstanceUID"), series_instance_uid=ds.get("SeriesInstanceUID"),
        acquisition_number=None if ds.get("AcquisitionNumber") in (None, "") else str(ds.get("AcquisitionNumber")),
        irradiation_event_uid=ds.get("IrradiationEventUID") or None,
        transfer_syntax=str(getattr(ds.file_meta, "TransferSyntaxUID", "") or "") or None,
        rows=ds.get("Rows"), columns=ds.get("Columns"),
        pixel_mm=(spacing[0], spacing[1]) if len(spacing) == 2 and None not in spacing and min(spacing) > 0 else None,
        z_mm=z, axial=axial and not localizer, localizer=localizer, projection=projection if localizer else None,
        z_down_columns=z_down_columns,
        ctdivol_mGy=ctdivol if ctdivol is not None and ctdivol >= 0 else None, phantom=phantom,
        body_part=str(ds.get("BodyPartExamined") or "").strip() or None,
        series_description=str(ds.get("SeriesDescription") or "").strip() or None,
        age_years=_age(ds), has_pixels="PixelData" in ds,
    )


def ct_numbers(path: str | Path) -> np.ndarray:
    """The slice's CT numbers (HU, float32): stored values × Rescale Slope + Rescale Intercept.

    Raises
    ------
    NotDecodable
        No decoder for the transfer syntax here, or pixel data that does not decode.
    """
    try:
        ds = pydicom.dcmread(path)
    except Exception as exc:  # noqa: BLE001 - a file that read as a header but not whole
        raise NotDecodable(f"file cannot be read: {exc}") from None
    syntax = getattr(ds.file_meta, "TransferSyntaxUID", None)
    name = getattr(syntax, "name", None) or str(syntax)
    try:
        stored = ds.pixel_array
    except Exception as exc:  # noqa: BLE001 - pydicom raises several kinds for missing decoders and bad data
        raise NotDecodable(f"pixel data not decodable ({name}): {str(exc).splitlines()[0][:160]}") from None
    if stored.ndim != 2:
        raise NotDecodable(f"pixel data has {stored.ndim} dimensions, one slice of 2 expected")
    slope = _number(ds.get("RescaleSlope"))
    intercept = _number(ds.get("RescaleIntercept"))
    return stored.astype(np.float32) * np.float32(1.0 if slope is None else slope) + np.float32(intercept or 0.0)


@dataclass
class ImageGroup:
    """The axial images of one acquisition, in z order, and what they say in common."""

    series_instance_uid: str | None
    acquisition: str | None
    irradiation_event_uid: str | None
    study_instance_uid: str | None
    images: list[CtImage] = field(default_factory=list)

    @property
    def key(self) -> tuple:
        return (self.series_instance_uid, self.irradiation_event_uid or self.acquisition)


def group_images(images: list[CtImage]) -> list[ImageGroup]:
    """Axial images grouped per series and irradiation event (or acquisition number), each sorted along z."""
    groups: dict[tuple, ImageGroup] = {}
    for image in images:
        if not image.axial:
            continue
        key = (image.series_instance_uid, image.irradiation_event_uid or image.acquisition_number)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ImageGroup(image.series_instance_uid, image.acquisition_number,
                                             image.irradiation_event_uid, image.study_instance_uid)
        group.images.append(image)
    for group in groups.values():
        group.images.sort(key=lambda i: (i.z_mm is None, i.z_mm or 0.0))
    return list(groups.values())


def sample(images: list[CtImage], spacing_mm: float | None) -> list[CtImage]:
    """Slices at least ``spacing_mm`` apart along z (the first and the last always); all when ``None``."""
    if spacing_mm is None or len(images) <= 2:
        return list(images)
    chosen = [images[0]]
    for image in images[1:-1]:
        if image.z_mm is None or chosen[-1].z_mm is None or abs(image.z_mm - chosen[-1].z_mm) >= spacing_mm:
            chosen.append(image)
    chosen.append(images[-1])
    return chosen
