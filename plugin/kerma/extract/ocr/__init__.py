"""Dose screens (bitmap dose reports of CT scanners without RDSR): recognised from their headers, read by OCR.

* :func:`is_dose_screen` (``detect``): from header attributes alone, is this object a dose screen and why;
* :func:`read_dose_screen` (``reader``): its pixels read by the exact glyph engine (the vendor's own screen font)
  or tesseract, parsed by the layouts of ``data/layouts/``, every value ``ok`` or ``needs_review``;
* :func:`check_headers` (``checks``): the screen against the kVp and CTDIvol of the study's images;
* :func:`screen_record` (``record``): a screen as a dose record of source ``ocr``.

Pure: no Orthanc, no database, no global state beyond cached fonts and layouts, so a ``multiprocessing`` spawn
child can run it.  The readers (numpy, Pillow, pydicom's pixel handlers) are imported when first used: the ingest
path imports this package for :func:`is_dose_screen` only, and Orthanc's process never loads them.
"""

from importlib import import_module

from .detect import header_of, is_dose_screen
from .screen import LAYOUT_UNKNOWN, NEEDS_REVIEW, OK, READ, UNREADABLE, Reading, ScreenEvent, ScreenResult

_READERS = {"check_headers": ".checks", "read_dose_screen": ".reader", "screen_record": ".record"}


def __getattr__(name: str):
    if name in _READERS:
        return getattr(import_module(_READERS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LAYOUT_UNKNOWN", "NEEDS_REVIEW", "OK", "READ", "UNREADABLE", "Reading", "ScreenEvent", "ScreenResult",
    "check_headers", "header_of", "is_dose_screen", "read_dose_screen", "screen_record",
]
