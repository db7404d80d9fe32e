"""Building the DICOM batches: copies of corpus files with new UIDs, so Orthanc and Kerma see new objects."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid


def _save_copy(ds, path: Path, study_uid: str, series_uid: str) -> str:
    """Give ``ds`` a new SOP Instance UID and the given study/series, write it to ``path``; return the SOP UID."""
    sop_uid = generate_uid()
    with warnings.catch_warnings():  # pydicom's warnings on odd values of the corpus file itself: not ours
        warnings.simplefilter("ignore", UserWarning)
        ds.SOPInstanceUID = sop_uid
        ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.save_as(path)
    return sop_uid


def mixed_batch(folder: Path, ct_image: Path, n_ct: int, rdsrs: list[Path], n_rdsr: int,
                images_per_series: int = 50, seed: int = 0) -> list[Path]:
    """Write ``n_ct`` CT copies and ``n_rdsr`` RDSR copies into ``folder``, shuffled; return the paths in send order.

    CT copies come in series of ``images_per_series`` images, one study per series.
    Each RDSR copy (cycling over ``rdsrs``) gets its own new study and series.
    File names ``00000.dcm``... give the (seeded, shuffled) order in which they are sent.
    """
    folder.mkdir(parents=True, exist_ok=True)
    kinds = ["ct"] * n_ct + ["rdsr"] * n_rdsr
    random.Random(seed).shuffle(kinds)
    ct = pydicom.dcmread(ct_image)
    sources = {p: pydicom.dcmread(p) for p in rdsrs}
    paths, n_ct_done, n_rdsr_done = [], 0, 0
    for index, kind in enumerate(kinds):
        path = folder / f"{index:05d}.dcm"
        if kind == "ct":
            if n_ct_done % images_per_series == 0:
                study, series = generate_uid(), generate_uid()
            ct.InstanceNumber = n_ct_done % images_per_series + 1
            _save_copy(ct, path, study, series)
            n_ct_done += 1
        else:
            _save_copy(sources[rdsrs[n_rdsr_done % len(rdsrs)]], path, generate_uid(), generate_uid())
            n_rdsr_done += 1
        paths.append(path)
    return paths


def rdsr_copies(folder: Path, rdsrs: list[Path], count: int) -> list[dict]:
    """Write ``count`` RDSR copies (cycling over ``rdsrs``), each in a new study; return
    ``[{"path", "source", "study_instance_uid"}]`` in that order."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = {p: pydicom.dcmread(p) for p in rdsrs}
    out = []
    for index in range(count):
        source = rdsrs[index % len(rdsrs)]
        path = folder / f"{index:05d}.dcm"
        study = generate_uid()
        _save_copy(sources[source], path, study, generate_uid())
        out.append({"path": path, "source": source.name, "study_instance_uid": study})
    return out
