"""Dose screens in the ledger: queued by the ingest worker, read in the OCR process, recorded with source ``ocr``.

The ingest worker recognises a dose screen from its header alone (:func:`kerma.extract.ocr.is_dose_screen`) and
stores its ledger row ``queued`` (``ocr_state`` ``queued``): nothing on the ingest path looks at pixels.  The
:class:`ScreenReader` thread takes the oldest queued row, fetches the instance from Orthanc, has it read by the OCR
process (:class:`kerma.ingest.ocr_process.OcrProcess`) and writes the outcome on the same row:

* ``recorded``: an ``ok`` record of source ``ocr``, every value checked;
* ``needs_review``: an ``ok`` record whose values that failed a check or were read with low confidence are left out
  of its fields (so out of statistics and alerts) and listed in ``ocr.review`` until a person confirms or corrects
  them (:mod:`kerma.ingest.screen_review`);
* ``ignored``: a dose screen whose layout no layout file describes ("dose screen, layout unknown"), its text kept
  for an admin;
* ``error``: no readable pixels, no text, a screen the OCR process could not finish.

The queue is the ledger: a crash of the OCR process or of Orthanc loses nothing, the queued rows are read after the
restart.  The study of a recorded screen is refreshed by the ingest worker (:func:`mark_refresh_due`).
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import defaultdict
from dataclasses import replace
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..background import PeriodicThread
from ..db.models import DoseObject, IrradiationEvent, Study
from ..db.outage import is_outage, reason
from ..db.states import mark_refresh_due
from ..record import DoseRecord
from .give_way import GiveWay
from .ocr_process import OcrProcess
from .store import fill, insert_events

QUEUED = "queued"
RECORDED = "recorded"
NEEDS_REVIEW = "needs_review"
IGNORED = "ignored"
ERROR = "error"
STATES = (QUEUED, RECORDED, NEEDS_REVIEW, IGNORED, ERROR)

log = logging.getLogger("kerma.ocr")

def queued(record: DoseRecord) -> DoseRecord:
    """The ledger record of a dose screen the extractor recognised: queued for OCR (its study kept for the check
    against the study's image headers, made when it is read)."""
    return replace(record, dose_screen=None, status=QUEUED, ocr_state=QUEUED,
                   reason=record.reason.replace("its dose is read by OCR", "queued for OCR"),
                   ocr={"study_instance_uid": record.study_instance_uid})


def outcome(record: DoseRecord) -> DoseRecord:
    """The ledger record of what the OCR process read (``screen_record``'s answer): its state, engine and review."""
    review = [{"id": i, **item} for i, item in enumerate(record.review or (), 1)]  # ids from 1, as every id
    if record.ok:
        state = NEEDS_REVIEW if review else RECORDED
    else:
        state = IGNORED if record.status == "ignored" else ERROR
    ocr = {**(record.screen or {}), "review": review}
    if not record.ok:
        ocr["lines"] = list(record.screen_text or ())  # for an admin adding the layout, or finding what went wrong
    return replace(record, screen=None, review=None, screen_text=None, ocr_state=state, ocr=ocr)


def next_queued(session: Session) -> tuple[int, str, str | None] | None:
    """(row id, Orthanc id, Study Instance UID) of the oldest queued dose screen, or None."""
    row = session.execute(select(DoseObject.id, DoseObject.orthanc_id, DoseObject.ocr).where(DoseObject.ocr_state == QUEUED)
                          .order_by(DoseObject.id).limit(1)).first()
    return None if row is None else (row[0], row[1], (row[2] or {}).get("study_instance_uid"))


def header_series(session: Session, study_instance_uid: str | None) -> dict[float, dict[str, float]]:
    """What the study's CT images say per series number, for :func:`kerma.extract.ocr.check_headers`: ``kvp`` (when
    every slice of the series agrees) and ``ctdivol_mGy`` (the mean of its slices)."""
    if not study_instance_uid:
        return {}
    rows = session.execute(
        select(IrradiationEvent.kvp, IrradiationEvent.ctdivol_mGy, IrradiationEvent.details)
        .join(DoseObject, IrradiationEvent.dose_object_id == DoseObject.id).join(Study, DoseObject.study_id == Study.id)
        .where(Study.study_instance_uid == study_instance_uid, DoseObject.source == "header", DoseObject.status == "ok",
               DoseObject.modality == "CT", IrradiationEvent.folded_key.is_(None))).all()
    by_series: dict[float, list] = defaultdict(list)
    for kvp, ctdivol, details in rows:
        number = ((details or {}).get("image") or {}).get("series_number")
        if number is not None:
            by_series[number].append((kvp, ctdivol))
    series = {}
    for number, slices in by_series.items():
        kvps = {kvp for kvp, _ in slices}
        ctdivols = [c for _, c in slices if c is not None]
        values = {"kvp": kvps.pop()} if len(kvps) == 1 and None not in kvps else {}
        if ctdivols:
            values["ctdivol_mGy"] = statistics.fmean(ctdivols)
        series[number] = values
    return series


def store_reading(session: Session, row_id: int, record: DoseRecord) -> DoseObject | None:
    """Write the OCR outcome ``record`` on the queued row ``row_id``; the caller commits.

    None when the row is no longer queued (another Orthanc node on the same database read it first: the row is
    locked for the update, so only one writes).
    """
    obj = session.get(DoseObject, row_id, with_for_update=True)
    if obj is None or obj.ocr_state != QUEUED:
        return None
    insert_events(session, [(obj, fill(session, obj, outcome(record)))])
    if obj.study is not None:
        mark_refresh_due([obj.study])  # resolved, classified and evaluated by the ingest worker, between batches
    return obj


class ScreenReader(PeriodicThread):
    """The daemon thread that empties the OCR queue, one screen at a time (started and stopped with Orthanc).

    Parameters
    ----------
    source : kerma.ingest.worker.InstanceSource
        Orthanc's instances (the screen's file is fetched when its turn comes).
    sessions : sessionmaker
    process : OcrProcess
        The OCR child process.
    recorded : callable
        Called after a screen gave a record (the edge wakes the ingest worker, which refreshes its study).
    ingest_quiet : callable
        Seconds since the ingest worker last had new changes (:meth:`kerma.ingest.worker.IngestWorker.quiet_for`).
    """

    name = "kerma-ocr"

    def __init__(self, source, sessions: sessionmaker, process: OcrProcess, recorded: Callable[[], None] = lambda: None,
                 poll_seconds: float = 2.0, ingest_quiet: Callable[[], float] = lambda: math.inf):
        super().__init__(poll_seconds)
        self.source = source
        self.sessions = sessions
        self.process = process
        self.recorded = recorded
        self.give_way = GiveWay(ingest_quiet)  # OCR yields to live ingestion

    def tick(self) -> bool:
        with self.sessions() as session:
            due = next_queued(session)
        if due is None or self.give_way.waiting():
            return False
        row_id, orthanc_id, study = due
        with self.sessions() as session:
            headers = header_series(session, study)
        record = self._read(orthanc_id, headers)
        if self._stop.is_set():  # Orthanc is stopping (the OCR process was ended under it): read after the restart
            return False
        with self.sessions() as session, session.begin():
            obj = store_reading(session, row_id, record)
            state = None if obj is None else obj.ocr_state
        log.info("dose screen %s read: %s", orthanc_id, state)
        if state in (RECORDED, NEEDS_REVIEW):
            self.recorded()
        return True

    def _read(self, orthanc_id: str, headers: dict) -> DoseRecord:
        try:
            data = self.source.instance_file(orthanc_id)
        except Exception as exc:
            if is_outage(exc):
                raise
            return DoseRecord("error", f"not read from Orthanc: {reason(exc)}")
        if data is None:
            return DoseRecord("error", "deleted in Orthanc before OCR read it")
        return self.process.read(data, headers)

    def state(self) -> dict:
        """For ``GET health``: the OCR process's pid (None between screens after a failure), how many were started."""
        return {"state": "error" if self.last_error else "running", "pid": self.process.pid,
                "processes_started": self.process.started, "error": self.last_error}

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.process.stop()  # first: a screen being read is abandoned (it stays queued), not waited for
        super().stop(timeout)
