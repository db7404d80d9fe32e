"""DICOM objects built for tests with pydicom: copies of corpus reports under new UIDs, and broken objects."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

XRAY_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def renamed_copy(path: Path, study_uid: str | None = None) -> bytes:
    """The report at ``path`` as a new object: new SOP Instance UID, new (or given) Study Instance UID."""
    ds = pydicom.dcmread(path)
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    return to_bytes(ds)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def broken_dose_sr() -> bytes:
    """An X-Ray Radiation Dose SR whose content items have neither value types nor concept names."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = XRAY_DOSE_SR
    ds.SOPClassUID = XRAY_DOSE_SR
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientID, ds.PatientName = "SR", "BROKEN-1", "Broken^Tree"
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [_code("113701", "DCM", "X-Ray Radiation Dose Report")]
    ds.ContinuityOfContent = "SEPARATE"
    garbage = Dataset()
    garbage.RelationshipType = "CONTAINS"
    garbage.TextValue = "no value type, no concept name"
    ds.ContentSequence = [garbage, Dataset()]
    return to_bytes(ds)


CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def ct_slice(study_uid: str, series_uid: str, frame_of_reference: str, *, z: float, ctdivol: float | None,
             image_type: str, acquisition_number: int | None, thickness: float, instance: int,
             series_description: str, **extra) -> bytes:
    """A small CT image (4x4 pixels) whose header carries what a scanner writes about dose (and ``extra``
    attributes by keyword)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_of_reference
    ds.PatientID, ds.PatientName, ds.AccessionNumber = "SYNTH-CT", "Synthetic^Series", "SYNTH1"
    ds.StudyDate, ds.StudyTime, ds.AcquisitionDate = "20260101", "080000", "20260101"
    ds.AcquisitionTime = f"0801{instance % 60:02d}"
    ds.Modality, ds.Manufacturer, ds.ManufacturerModelName, ds.StationName = "CT", "Kerma Test", "Synthetic CT", "SYNTH01"
    ds.ImageType = image_type.split("\\")
    if acquisition_number is not None:
        ds.AcquisitionNumber = acquisition_number
    ds.InstanceNumber = instance
    ds.SeriesDescription = ds.ProtocolName = series_description
    ds.ImagePositionPatient = [0.0, 0.0, z]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SliceThickness = thickness
    ds.KVP, ds.XRayTubeCurrent, ds.ExposureTime = 120, 200, 500
    if ctdivol is not None:
        ds.CTDIvol = ctdivol
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = bytes(32)
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    return to_bytes(ds)


def copy_with(path: Path, **changes) -> bytes:
    """The object at ``path`` under a new SOP Instance UID, with attributes changed by keyword."""
    ds = pydicom.dcmread(path)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    if "SOPClassUID" in changes:
        ds.file_meta.MediaStorageSOPClassUID = changes["SOPClassUID"]
    return to_bytes(ds)


CR_IMAGE = "1.2.840.10008.5.1.4.1.1.1"


def radiograph(study_uid: str, manufacturer: str, *, patient_id: str = "SYNTH-CR", accession: str = "SYNTHCR1",
               image_type: str = "ORIGINAL\\PRIMARY", **attributes) -> bytes:
    """A small CR image (4x4 pixels) as an older CR reader writes it: no dose attributes unless ``attributes`` add some."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = CR_IMAGE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
    ds.PatientID, ds.PatientName, ds.AccessionNumber = patient_id, "Synthetic^Radiograph", accession
    ds.StudyDate, ds.StudyTime = "20260105", "101500"
    ds.AcquisitionDate, ds.AcquisitionTime = "20260105", "101502"
    ds.Modality, ds.Manufacturer, ds.ManufacturerModelName, ds.StationName = "CR", manufacturer, "Old reader", "CR-OLD1"
    ds.ImageType = image_type.split("\\")
    ds.BodyPartExamined, ds.ViewPosition = "CHEST", "PA"
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME1"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = bytes(32)
    return to_bytes(ds)
