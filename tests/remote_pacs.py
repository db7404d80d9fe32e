"""A second Orthanc on loopback as the remote PACS of back-fill tests and bench/, and studies of dose objects to
load it with (corpus RDSRs under new UIDs, generated dose screens, CT and DX images, and objects that are none).

    remote, local, name = pacs_pair(tmp_path, "sqlite:///...")   # each declared as a modality of the other
    remote.start(); local.start()
    study = dose_study(dt.date(2025, 3, 4), seed=1, rdsr=CORPUS / "openrem" / "CT-RDSR-GEPixelMed.dcm")
    remote.store(study.write(tmp_path / "s1"))
    local.session().post(local.url + "/kerma/api/backfill", json={"modality": name, ...})
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from dicom_factory import ct_slice, radiograph, to_bytes
from dose_screens import secondary_capture
from support.orthanc import CALLING_AET, OrthancProcess, free_port

REMOTE_AET = "PACS"
DX_IMAGE = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation


def pacs_pair(workdir: Path, database_url: str, kerma_config: dict | None = None) -> tuple[OrthancProcess, OrthancProcess, str]:
    """(remote PACS, Kerma's Orthanc, the PACS's name among Kerma's modalities), not started.

    The PACS is a plain Orthanc (no plugin) with AE title ``PACS``; each knows the other as a modality (AE title,
    127.0.0.1, DICOM port), as ``make_config.py --modality`` declares them, so Kerma's Orthanc may query it and it
    may store into Kerma's Orthanc (C-MOVE); both also accept the tests' own calling AE title.
    """
    local_port = free_port()
    remote = remote_pacs(Path(workdir) / "pacs", local_port)
    local, name = kerma_orthanc(Path(workdir) / "kerma", database_url, remote, local_port, kerma_config)
    return remote, local, name


def remote_pacs(workdir: Path, local_port: int) -> OrthancProcess:
    """The remote PACS, not started: a plain Orthanc that may move objects to an Orthanc at ``local_port``."""
    return OrthancProcess(workdir, free_port(), free_port(), f"sqlite:///{Path(workdir) / 'unused.sqlite'}",
                          aet=REMOTE_AET, extra_config={"Plugins": []},
                          modalities=(f"{CALLING_AET}@127.0.0.1", f"ORTHANC@127.0.0.1:{local_port}"))


def kerma_orthanc(workdir: Path, database_url: str, remote: OrthancProcess, dicom_port: int,
                  kerma_config: dict | None = None) -> tuple[OrthancProcess, str]:
    """Kerma's Orthanc on ``dicom_port`` (the one ``remote`` moves to), not started, and the remote's modality name."""
    local = OrthancProcess(workdir, free_port(), dicom_port, database_url, extra_config=kerma_config,
                           modalities=(f"{CALLING_AET}@127.0.0.1", f"{REMOTE_AET}@127.0.0.1:{remote.dicom_port}"))
    return local, f"{REMOTE_AET.lower()}_127_0_0_1"


@dataclass
class RemoteStudy:
    """One study as the remote holds it, and which of its objects a back-fill is to fetch."""

    uid: str
    date: dt.date
    files: list[bytes] = field(default_factory=list)
    sop: dict[str, list[str]] = field(default_factory=dict)  # kind -> SOP Instance UIDs

    def add(self, kind: str, data: bytes) -> None:
        self.files.append(data)
        self.sop.setdefault(kind, []).append(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID)

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, data in enumerate(self.files):
            paths.append(folder / f"{i:02d}.dcm")
            paths[-1].write_bytes(data)
        return paths

    def wanted(self, header_images: bool) -> set[str]:
        """The SOP Instance UIDs a back-fill fetches: the RDSR and the screen, and with header images the lowest
        instance number of the CT series and the DX image."""
        kinds = ("rdsr", "screen", "ct_first", "dx") if header_images else ("rdsr", "screen")
        return {uid for kind in kinds for uid in self.sop.get(kind, ())}


def _restudied(data: bytes, study: str, date: dt.date, patient: str, **attributes) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.StudyInstanceUID, ds.StudyDate, ds.PatientID = study, date.strftime("%Y%m%d"), patient
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if "SOPClassUID" in attributes:
        ds.file_meta.MediaStorageSOPClassUID = attributes["SOPClassUID"]
    return to_bytes(ds)


def dose_study(date: dt.date, seed: int, rdsr: Path, ct_slices: int = 3) -> RemoteStudy:
    """A study of ``date``: the RDSR at ``rdsr`` under new UIDs (series SR), a GE-style dose screen (Secondary Capture,
    series 999 "Dose Report", Image Type ``DERIVED\\SECONDARY\\SCREEN SAVE``), a CT series of ``ct_slices`` images
    with CTDIvol stored in reverse instance order (``ct_first``: instance number 1; ``ct_other``: the rest), a DX image
    with DAP, and a scanned request form (Secondary Capture, series 2 "Scanned request form", burned-in text:
    ``decoy``, not a dose object)."""
    study = RemoteStudy(generate_uid(), date)
    patient = f"BACKFILL-{seed:04d}"
    ds = pydicom.dcmread(rdsr)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    study.add("rdsr", _restudied(to_bytes(ds), study.uid, date, patient))
    screen = secondary_capture(np.zeros((64, 128), dtype=np.uint8), seed=seed, series_number=999,
                               series_description="Dose Report")
    study.add("screen", _restudied(screen, study.uid, date, patient, SeriesInstanceUID=generate_uid(),
                                   SOPInstanceUID=generate_uid()))
    series, frame = generate_uid(), generate_uid()
    for instance in range(ct_slices, 0, -1):
        data = ct_slice(study.uid, series, frame, z=10.0 * instance, ctdivol=8.0 + instance, image_type="ORIGINAL\\PRIMARY\\AXIAL",
                        acquisition_number=1, thickness=5.0, instance=instance, series_description="Abdomen")
        study.add("ct_first" if instance == 1 else "ct_other", _restudied(data, study.uid, date, patient))
    dx = radiograph(study.uid, "Kerma Test", patient_id=patient, ImageAndFluoroscopyAreaDoseProduct=0.42, KVP=70)
    study.add("dx", _restudied(dx, study.uid, date, patient, Modality="DX", SOPClassUID=DX_IMAGE))
    form = secondary_capture(np.zeros((32, 32), dtype=np.uint8), seed=seed + 10_000, series_number=2,
                             series_description="Scanned request form")
    study.add("decoy", _restudied(form, study.uid, date, patient, SeriesInstanceUID=generate_uid(),
                                  SOPInstanceUID=generate_uid(), Modality="OT", ImageType=["DERIVED", "SECONDARY"],
                                  BurnedInAnnotation="YES"))
    return study
