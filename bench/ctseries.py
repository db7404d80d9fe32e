"""A synthetic CT series of realistic size: tests/dicom_factory.ct_slice with 512x512 16-bit pixels.

``ct_slice`` writes what a scanner puts in a CT header about dose (CTDIvol, kVp, mA, position, image
type, acquisition number) but only 4x4 pixels.  Here each slice is made by ``ct_slice`` and then gets
512x512 unsigned 16-bit pixels (512 KB, explicit VR little endian, uncompressed, as most scanners
send) with the rescale and spacing attributes that go with them.  The pixels are a body phantom
(an ellipse of soft tissue with a spine and noise, air around it) built once; each slice shows it
shifted by a few rows so that consecutive files are not byte-identical.
"""

from __future__ import annotations

import io
import math
import random
import sys
from array import array
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

from common import REPO

if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))
from dicom_factory import ct_slice, to_bytes  # noqa: E402  (tests/dicom_factory.py)

SIZE = 512
SLICE_MM = 1.0
DESCRIPTION = "Thorax-Abdomen"


def modulated_ctdivol(z: float) -> float:
    """Tube-current modulation along z (as in tests/test_header_ingest.py): high at the shoulders and pelvis."""
    return round(6.0 + 3.0 * math.cos(z / 300.0 * 2 * math.pi), 4)


def _phantom(seed: int = 0) -> bytes:
    """512x512 stored values (HU + 1024, unsigned 16-bit little endian): air, a soft-tissue body, a spine."""
    rng = random.Random(seed)
    noise = [int(rng.gauss(0, 12)) for _ in range(4096)]  # reused along each row with an offset
    pixels = array("H", bytes(2 * SIZE * SIZE))
    cx, cy, ax, ay = SIZE / 2, SIZE / 2 + 10, 200.0, 140.0
    for y in range(SIZE):
        dy = (y - cy) / ay
        base = y * SIZE
        offset = (y * 37) % 4000
        for x in range(SIZE):
            dx = (x - cx) / ax
            if dx * dx + dy * dy <= 1.0:
                hu = 40  # soft tissue
                if (x - cx) ** 2 + (y - (cy + 90)) ** 2 <= 22 ** 2:
                    hu = 700  # vertebra
                elif dx * dx + dy * dy > 0.93:
                    hu = -100  # fat under the skin
            else:
                hu = -1000  # air
            pixels[base + x] = max(0, min(4095, hu + 1024 + noise[offset + (x & 63)]))
    if sys.byteorder != "little":
        pixels.byteswap()
    return pixels.tobytes()


def realistic_slice(phantom: bytes, study: str, series: str, frame: str, index: int) -> bytes:
    """Slice ``index`` (0-based) of the spiral: ``ct_slice`` with its 4x4 pixels replaced by 512x512."""
    z = index * SLICE_MM
    small = ct_slice(study, series, frame, z=z, ctdivol=modulated_ctdivol(z), image_type="ORIGINAL\\PRIMARY\\AXIAL",
                     acquisition_number=2, thickness=SLICE_MM, instance=index + 1, series_description=DESCRIPTION)
    ds = pydicom.dcmread(io.BytesIO(small))
    ds.Rows = ds.Columns = SIZE
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelSpacing = [0.78125, 0.78125]
    ds.SliceLocation = z
    shift = 2 * SIZE * (index % 24)  # whole rows, so the 16-bit values stay aligned
    ds.PixelData = phantom[shift:] + phantom[:shift]
    return to_bytes(ds)


def ct_series(folder: Path, count: int) -> dict:
    """Write one CT series of ``count`` slices (one study, one spiral acquisition) into ``folder``.

    Returns ``{"paths", "study_instance_uid", "series_instance_uid", "slices", "bytes_per_slice"}``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    phantom = _phantom()
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    paths = []
    for index in range(count):
        path = folder / f"{index:05d}.dcm"
        path.write_bytes(realistic_slice(phantom, study, series, frame, index))
        paths.append(path)
    return {"paths": paths, "study_instance_uid": study, "series_instance_uid": series, "slices": count,
            "bytes_per_slice": paths[0].stat().st_size,
            "ctdivol_mean_mGy": sum(modulated_ctdivol(i * SLICE_MM) for i in range(count)) / count}


def one_slice() -> bytes:
    """A single slice of the same kind (for timing the header read in (e))."""
    return realistic_slice(_phantom(), generate_uid(), generate_uid(), generate_uid(), 0)
