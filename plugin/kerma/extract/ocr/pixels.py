"""A dose screen's pixels as 8-bit grey frames, and the header facts that choose how to read them.

Decoding uses pydicom (uncompressed, RLE, and JPEG baseline through Pillow); a screen whose transfer syntax
cannot be decoded here is reported, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

import numpy as np
import pydicom
from pydicom.dataset import Dataset


INK_CONTRAST = 96  # grey levels between text and background (0..255) for a pixel to be ink


class PixelError(ValueError):
    """The object has no pixels this module can decode."""


@dataclass(frozen=True)
class Screen:
    """The frames of a screen (2-D uint8 arrays, text light or dark) and its manufacturer."""

    frames: tuple[np.ndarray, ...]
    manufacturer: str


def load(source) -> Screen:
    """A :class:`Screen` from DICOM bytes, a pydicom Dataset, or a 2-D/3-D image array (tests, bench)."""
    if isinstance(source, np.ndarray):
        return Screen(_frames(source, "MONOCHROME2", 1), "")
    if isinstance(source, (bytes, bytearray, memoryview)):
        try:
            ds = pydicom.dcmread(BytesIO(bytes(source)), force=True)
        except Exception as exc:
            raise PixelError(f"not a readable DICOM object: {exc}") from None
    elif isinstance(source, Dataset):
        ds = source
    else:
        raise TypeError(f"cannot read a dose screen from {type(source).__name__}")
    if "PixelData" not in ds:
        raise PixelError("no pixel data")
    try:
        array = ds.pixel_array
    except Exception as exc:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "unknown")
        raise PixelError(f"pixel data not decodable (transfer syntax {syntax}): {exc}") from None
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    return Screen(_frames(array, photometric, samples), str(ds.get("Manufacturer", "") or ""))


def _frames(array: np.ndarray, photometric: str, samples: int) -> tuple[np.ndarray, ...]:
    if samples > 1:  # colour: pydicom gives RGB (YBR converted); text is read on luminance
        array = array.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    frames = array if array.ndim == 3 else array[None]
    out = []
    for frame in frames:
        f = frame.astype(np.float64)
        low, high = float(f.min()), float(f.max())
        grey = np.zeros(f.shape, np.uint8) if high <= low else np.round((f - low) * 255.0 / (high - low)).astype(np.uint8)
        if photometric == "MONOCHROME1":
            grey = 255 - grey
        out.append(grey)
    return tuple(out)


def ink(grey: np.ndarray) -> np.ndarray:
    """Text pixels of a screen: those far from the background (its most frequent grey), light or dark text alike."""
    background = int(np.bincount(grey.ravel(), minlength=256).argmax())
    return np.abs(grey.astype(np.int16) - background) > INK_CONTRAST


def dark_text(grey: np.ndarray) -> np.ndarray:
    """The screen as dark text on a light background (what tesseract is trained on)."""
    background = int(np.bincount(grey.ravel(), minlength=256).argmax())
    return 255 - grey if background < 128 else grey
