"""The OCR process: dose screens are read in a child process of their own, never in Orthanc's threads.

Reading a screen (pixels, glyph matching, tesseract) is seconds of CPU in numpy and Python.  :class:`OcrProcess` is
a :class:`kerma.child.ChildProcess` that reads the screens it is sent, one at a time, and answers each with
its record (:func:`kerma.extract.ocr.screen_record`).  A child that dies or takes longer than the timeout is ended;
that screen gets its error, and the next one a new child.
"""

from __future__ import annotations

import logging

from ..record import DoseRecord
from ..child import ChildFailed, ChildProcess

log = logging.getLogger("kerma.ocr")

TIMEOUT_SECONDS = 300.0  # wall time: a busy server gives a niced child little CPU (a tesseract read is ~8 s of CPU)


def read_screen(data: bytes, headers: dict) -> DoseRecord:
    """What the child answers for one screen: its record, checked against its study's image headers; never raises."""
    from ..extract.ocr import check_headers, read_dose_screen, screen_record

    try:
        result = read_dose_screen(data)
        return screen_record(data, check_headers(result, headers) if headers else result)
    except Exception as exc:  # the readers never raise by design; a fault no check foresaw is this screen's
        return DoseRecord("error", f"OCR failed: {type(exc).__name__}: {exc}")


class OcrProcess(ChildProcess):
    """One OCR child, started when first needed and again after it died.

    Parameters
    ----------
    timeout : float
        Seconds one screen may take; a child still reading after that is ended and the screen is an error.
    """

    def __init__(self, timeout: float = TIMEOUT_SECONDS):
        super().__init__("kerma.ingest.ocr_process:read_screen", "kerma-ocr", timeout,
                         preload=("kerma.extract.ocr.reader", "kerma.extract.ocr.record"))

    def read(self, data: bytes, headers: dict | None = None) -> DoseRecord:
        """The record of the screen ``data`` (a Part 10 file), or an ``error`` record saying why there is none.

        ``headers``: what the study's images say per series number (:func:`kerma.extract.ocr.check_headers`).
        """
        try:
            return self.call(data, headers or {})
        except ChildFailed as exc:
            why = f"OCR {exc}" if exc.timed_out else f"the OCR process stopped while reading this screen ({exc})"
            log.error("dose screen not read: %s", why)
            return DoseRecord("error", why)
