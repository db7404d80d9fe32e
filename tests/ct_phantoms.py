"""Synthetic CT slices and series with analytic answers, for the SSDE tests and bench (n): DICOM files built here.

Every shape is drawn on the pixel centres of a square image in the patient's x (left-right) and y (posterior
down) in mm, the isocentre at the image centre. CT numbers are stored as unsigned values with a rescale
(stored = (HU - intercept) / slope), so a reader that ignores the rescale gets the wrong Dw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
AIR_HU, WATER_HU, TISSUE_HU, LUNG_HU, COUCH_HU, OUTSIDE_HU = -1000.0, 0.0, 40.0, -800.0, 300.0, -3024.0


def grid(size: int, pixel_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """x and y (mm) of the pixel centres, the isocentre in the middle."""
    c = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size]
    return (x - c) * pixel_mm, (y - c) * pixel_mm


def ellipse(x, y, a_mm: float, b_mm: float, cx: float = 0.0, cy: float = 0.0) -> np.ndarray:
    return ((x - cx) / a_mm) ** 2 + ((y - cy) / b_mm) ** 2 <= 1.0


def couch(x, y, top_mm: float, thickness_mm: float, width_mm: float = 450.0, sag_mm: float = 40.0) -> np.ndarray:
    """A curved couch top below the patient: its upper surface at ``top_mm`` in the middle, rising to the sides."""
    surface = top_mm - sag_mm * (x / (width_mm / 2)) ** 2
    return (np.abs(x) <= width_mm / 2) & (y >= surface) & (y <= surface + thickness_mm)


def field_of_view(x, y, diameter_mm: float) -> np.ndarray:
    return x ** 2 + y ** 2 <= (diameter_mm / 2) ** 2


@dataclass
class Slice:
    """One slice's CT numbers and where it lies."""

    hu: np.ndarray
    pixel_mm: float
    z_mm: float = 0.0
    ctdivol_mGy: float | None = 10.0


@dataclass
class Series:
    """Header values every slice of a series shares."""

    study_uid: str = field(default_factory=generate_uid)
    series_uid: str = field(default_factory=generate_uid)
    frame_of_reference_uid: str = field(default_factory=generate_uid)
    body_part: str = "ABDOMEN"
    description: str = "Synthetic abdomen"
    phantom_code: str | None = "113691"          # IEC Body Dosimetry Phantom
    irradiation_event_uid: str | None = None
    slope: float = 1.0
    intercept: float = -1024.0
    age: str | None = "045Y"
    transfer_syntax: str = ExplicitVRLittleEndian


def slice_dataset(s: Slice, series: Series, instance: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = series.study_uid, series.series_uid
    ds.FrameOfReferenceUID = series.frame_of_reference_uid
    ds.Modality, ds.PatientID, ds.PatientName = "CT", "SYNTH-SSDE", "Synthetic^Phantom"
    if series.age:
        ds.PatientAge = series.age
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.AcquisitionNumber, ds.InstanceNumber = 1, instance
    ds.BodyPartExamined, ds.SeriesDescription = series.body_part, series.description
    if series.irradiation_event_uid:
        ds.IrradiationEventUID = series.irradiation_event_uid
    size = s.hu.shape[0]
    half = (size - 1) / 2 * s.pixel_mm
    ds.ImagePositionPatient = [-half, -half, s.z_mm]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = [s.pixel_mm, s.pixel_mm]
    ds.SliceThickness = 1.0
    if s.ctdivol_mGy is not None:
        ds.CTDIvol = s.ctdivol_mGy
    if series.phantom_code:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator = series.phantom_code, "DCM"
        code.CodeMeaning = "IEC Body Dosimetry Phantom" if series.phantom_code == "113691" else "IEC Head Dosimetry Phantom"
        ds.CTDIPhantomTypeCodeSequence = [code]
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.RescaleSlope, ds.RescaleIntercept = series.slope, series.intercept
    stored = np.clip(np.round((s.hu - series.intercept) / series.slope), 0, 65535).astype(np.uint16)
    ds.PixelData = stored.tobytes()
    if series.transfer_syntax != ExplicitVRLittleEndian:
        ds.compress(series.transfer_syntax, stored)
    return ds


def write_series(directory: Path, slices: list[Slice], series: Series | None = None) -> list[Path]:
    """The slices as DICOM files in ``directory``, one per slice."""
    series = series or Series()
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, s in enumerate(slices, start=1):
        path = directory / f"{series.series_uid[-12:]}-{i:04d}.dcm"
        slice_dataset(s, series, i).save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def torso(z_mm: float, size: int = 320, pixel_mm: float = 1.6, noise_hu: float = 0.0, seed: int = 0) -> np.ndarray:
    """An anthropomorphic-ish slice whose size changes along z: an elliptic trunk of soft tissue with a spine,
    lungs between z = 0 and 250 mm, arms beside the trunk, a couch below; ``noise_hu`` Gaussian noise."""
    x, y = grid(size, pixel_mm)
    a = 150 + 25 * math.sin(z_mm / 90.0)     # lateral semi-axis 125..175 mm
    b = 100 + 15 * math.cos(z_mm / 70.0)     # AP semi-axis 85..115 mm
    hu = np.full((size, size), AIR_HU, dtype=np.float64)
    hu[ellipse(x, y, a, b)] = TISSUE_HU
    hu[ellipse(x, y, 15, 15, 0, b - 25)] = 700.0                   # spine
    if 0 <= z_mm <= 250:
        lung = 0.15 + 0.15 * math.sin(math.pi * z_mm / 250)
        hu[ellipse(x, y, a * lung, b * 0.55, -a * 0.42, -5)] = LUNG_HU
        hu[ellipse(x, y, a * lung, b * 0.55, a * 0.42, -5)] = LUNG_HU
    for side in (-1, 1):
        hu[ellipse(x, y, 28, 35, side * (a + 40), 0)] = TISSUE_HU  # arms, apart from the trunk
    hu[couch(x, y, b + 25, 12)] = COUCH_HU
    if noise_hu:
        hu += np.random.default_rng([seed, int(round(z_mm * 10)) + 10**6]).normal(0, noise_hu, hu.shape)
    return hu


def torso_water_diameter(z_mm: float, size: int = 320, pixel_mm: float = 1.6) -> float:
    """Dw (cm) of ``torso`` without the couch, from its own pixels (trunk, spine, lungs, arms), no segmentation."""
    hu = torso(z_mm, size, pixel_mm)
    x, y = grid(size, pixel_mm)
    a = 150 + 25 * math.sin(z_mm / 90.0)
    b = 100 + 15 * math.cos(z_mm / 70.0)
    patient = ellipse(x, y, a, b) | ellipse(x, y, 28, 35, -(a + 40), 0) | ellipse(x, y, 28, 35, a + 40, 0)
    water = ((hu[patient] / 1000.0) + 1.0).sum() * (pixel_mm / 10.0) ** 2
    return 2 * math.sqrt(water / math.pi)


def localizer(directory: Path, projection: str, a_mm: float, b_mm: float, length_mm: float = 400.0,
              series: Series | None = None) -> Path:
    """A localizer of an elliptic cylinder (semi-axes a lateral, b AP) lying along z, 1 mm pixels, z down the rows:
    ``frontal`` shows its width 2a, ``lateral`` its thickness 2b; pixel values are path lengths (mm) through it."""
    series = series or Series()
    half = a_mm if projection == "frontal" else b_mm
    other = b_mm if projection == "frontal" else a_mm
    across = np.arange(-299.5, 300.0, 1.0)
    path = np.where(np.abs(across) < half, 2 * other * np.sqrt(np.clip(1 - (across / half) ** 2, 0, None)), 0.0)
    rows = int(length_mm) + 100
    image = np.zeros((rows, across.size))
    image[50:50 + int(length_mm), :] = path
    ds = slice_dataset(Slice(np.zeros((4, 4)), 1.0), series, 1)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0] if projection == "frontal" else [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
    ds.Rows, ds.Columns = image.shape
    ds.RescaleSlope, ds.RescaleIntercept = 1.0, 0.0
    ds.PixelData = np.round(image).astype(np.uint16).tobytes()
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"localizer-{projection}.dcm"
    ds.save_as(out, enforce_file_format=True)
    return out
