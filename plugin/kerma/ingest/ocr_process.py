"""The OCR process: dose screens are read in a child process of their own, never in Orthanc's threads.

Reading a screen (pixels, glyph matching, tesseract) is seconds of CPU in numpy and Python: in Orthanc's process it
would hold the GIL that C-STORE needs.  :class:`OcrProcess` keeps one spawned child (Debian's Python, as the report
processes) that reads the screens it is sent, one at a time, and answers each with its record
(:func:`kerma.extract.ocr.screen_record`).  Waiting for the answer releases the GIL.  A child that dies or takes
longer than the timeout is ended; that screen gets its error, and the next one a new child.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os

from ..reports.process import interpreter

log = logging.getLogger("kerma.ocr")

TIMEOUT_SECONDS = 300.0  # wall time: a busy server gives a niced child little CPU (a tesseract read is ~8 s of CPU)
WATCH_SECONDS = 1.0  # how often an idle child looks whether its parent (Orthanc) is still there
START_SECONDS = 300.0  # for a child to start and import its readers (numpy, Pillow, pydicom) on a busy server
READY = b"ready"  # the child's first message, once its readers are imported: starting does not count as reading


def read_screen(data: bytes, headers: dict) -> dict:
    """What the child answers for one screen: its record, checked against its study's image headers; never raises."""
    from ..extract.ocr import check_headers, read_dose_screen, screen_record

    try:
        result = read_dose_screen(data)
        return screen_record(data, check_headers(result, headers) if headers else result)
    except Exception as exc:  # the readers never raise by design; a fault no check foresaw is this screen's
        return {"status": "error", "reason": f"OCR failed: {type(exc).__name__}: {exc}", "source": None}


def _serve(connection: multiprocessing.connection.Connection, parent_pid: int) -> None:
    """The child: read each screen sent, answer its record; end with the parent or when the pipe closes."""
    os.nice(10)  # images being stored come first
    from ..extract.ocr import reader, record  # noqa: F401  (imported here, never in Orthanc's process)

    connection.send_bytes(READY)
    while os.getppid() == parent_pid:
        if not connection.poll(WATCH_SECONDS):
            continue
        try:
            data = connection.recv_bytes()
            headers = connection.recv()
        except EOFError:
            return
        connection.send(read_screen(data, headers))


class OcrProcess:
    """One OCR child, started when first needed and again after it died.

    Parameters
    ----------
    timeout : float
        Seconds one screen may take; a child still reading after that is ended and the screen is an error.
    """

    def __init__(self, timeout: float = TIMEOUT_SECONDS):
        self.timeout = timeout
        self.started = 0  # children started so far (health: more than one means one died or was ended)
        self._child: multiprocessing.process.BaseProcess | None = None
        self._connection: multiprocessing.connection.Connection | None = None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None and self._child.is_alive() else None

    def read(self, data: bytes, headers: dict | None = None) -> dict:
        """The record of the screen ``data`` (a Part 10 file), or an ``error`` record saying why there is none.

        ``headers``: what the study's images say per series number (:func:`kerma.extract.ocr.check_headers`).
        """
        try:
            self._ensure()
            connection = self._connection  # stop() from another thread (Orthanc stopping) closes it under us
            connection.send_bytes(data)
            connection.send(headers or {})
            if connection.poll(self.timeout):
                return connection.recv()
            why = f"OCR took longer than {self.timeout:g} s and was stopped"
        except (EOFError, OSError) as exc:
            why = f"the OCR process stopped while reading this screen ({type(exc).__name__}: {exc})"
        self.stop()
        log.error("dose screen not read: %s", why)
        return {"status": "error", "reason": why, "source": None}

    def stop(self) -> None:
        """End the child (it is started again by the next :meth:`read`)."""
        child, self._child = self._child, None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if child is not None and child.is_alive():
            child.terminate()
            child.join(5)
            if child.is_alive():
                child.kill()
                child.join(5)

    def _ensure(self) -> None:
        """A child ready to read (started, its readers imported); an OSError when it cannot start."""
        if self._child is not None and self._child.is_alive():
            return
        if self._child is not None:
            log.warning("the OCR process ended (exit code %s): starting another", self._child.exitcode)
        self.stop()
        context = multiprocessing.get_context("spawn")
        context.set_executable(interpreter())
        ours, theirs = context.Pipe()
        # daemon: at Orthanc's exit the child is ended, not waited for
        self._child = context.Process(target=_serve, args=(theirs, os.getpid()), name="kerma-ocr", daemon=True)
        self._child.start()
        theirs.close()
        self._connection = ours
        self.started += 1
        if not ours.poll(START_SECONDS) or ours.recv_bytes() != READY:
            raise EOFError(f"the OCR process did not start within {START_SECONDS:g} s")
