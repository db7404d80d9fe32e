"""The dosimetry thread: each study marked ``dosimetry_due`` gets its derived doses (:mod:`kerma.derived`) computed
again when their inputs changed, in the dosimetry process, off the ingest path.

Every refresh of a study (a new report or image, a weight or height from the HIS or a person, a dose screen read)
and every change of its standard exam marks it due (:func:`kerma.db.states.mark_dosimetry_due`).  This thread takes
the due studies, gathers each one's inputs from the database (:func:`kerma.derived.inputs.gather`: cheap) and
compares their fingerprint with the one its rows were computed from.  Only when it differs are the input files
fetched from Orthanc and sent to :class:`DosimetryProcess`, a niced child process of its own (pixels, skin maps:
CPU work that would hold Orthanc's GIL), whose rows replace the study's.  The queue is the flag in the database: a
crash loses nothing.  Like OCR it yields to live ingestion (:class:`kerma.ingest.give_way.GiveWay`).
"""

from __future__ import annotations

import logging
import math
from typing import Callable

from sqlalchemy.orm import sessionmaker

from ..background import PeriodicThread
from ..db.outage import is_outage
from ..derived.inputs import StudyInputs, gather
from ..derived.store import due_count, due_studies, nothing_to_convert, replace_rows, unchanged
from ..child import ChildFailed, ChildProcess
from .give_way import GiveWay

log = logging.getLogger("kerma.dosimetry")

TIMEOUT_SECONDS = 300.0  # one study, wall time, niced (the largest corpus skin map takes < 1 s of CPU)


def compute_rows(files: list, patient: dict, exam_region: str | None) -> list[dict]:
    """What the child answers for one study (:func:`kerma.derived.compute.compute`, imported in the child only)."""
    from ..derived.compute import compute

    return compute(files, patient, exam_region)


class DosimetryProcess(ChildProcess):
    """The dosimetry child process, started when first needed and again after it died."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS):
        super().__init__("kerma.ingest.dosimetry:compute_rows", "kerma-dosimetry", timeout,
                         preload=("kerma.derived.compute",))

    def compute(self, files: list, patient: dict, exam_region: str | None) -> list[dict]:
        return self.call(files, patient, exam_region)


def failed_rows(why: str) -> list[dict]:
    """The rows of a study the process could not finish: each kind ``not_estimated``, saying why."""
    from ..derived.reader import KINDS

    return [{"kind": kind, "part": "failed", "status": "not_estimated", "method": "not estimated",
             "reason": f"the dosimetry process {why}"} for kind in KINDS]


class DosimetryThread(PeriodicThread):
    """The daemon thread that keeps derived doses current (started and stopped with Orthanc).

    Parameters
    ----------
    source : kerma.ingest.worker.InstanceSource
        Orthanc's instances (the input files are fetched when a study's turn comes).
    sessions : sessionmaker
    compute : callable
        ``compute(files, patient, exam_region) -> rows``: :meth:`DosimetryProcess.compute` (tests may pass
        :func:`kerma.derived.compute.compute` itself).
    ingest_quiet : callable
        Seconds since the ingest worker last had new changes.
    """

    name = "kerma-dosimetry"

    def __init__(self, source, sessions: sessionmaker, compute: Callable, poll_seconds: float = 2.0,
                 ingest_quiet: Callable[[], float] = lambda: math.inf):
        super().__init__(poll_seconds)
        self.source = source
        self.sessions = sessions
        self.compute = compute
        self.give_way = GiveWay(ingest_quiet)
        self.computed = 0  # studies computed since start (health)

    def tick(self) -> bool:
        with self.sessions() as session:
            due = due_studies(session)
        if not due or self.give_way.waiting():
            return False
        for study_id in due:
            if self._stop.is_set():
                return False
            self.update(study_id)
        return True

    def update(self, study_id: int) -> bool:
        """Compute study ``study_id``'s derived doses again if their inputs changed; True when it did."""
        with self.sessions() as session, session.begin():
            inputs = gather(session, study_id)
            if inputs is None or unchanged(session, inputs):
                return False
        rows = self._rows(inputs) if inputs.objects else nothing_to_convert()  # no file: no process
        if rows is None:  # Orthanc is stopping: computed after the restart
            return False
        try:
            with self.sessions() as session, session.begin():
                replace_rows(session, inputs, rows)
        except Exception as exc:  # rows the database refuses: the study says so, and the queue goes on
            if is_outage(exc):
                raise
            log.error("derived doses of study %d not stored (%s)", study_id, type(exc).__name__)
            with self.sessions() as session, session.begin():
                replace_rows(session, inputs, failed_rows(f"gave rows the database refused ({type(exc).__name__})"))
        self.computed += 1
        log.info("derived doses of study %d computed: %d row(s)", study_id, len(rows))
        return True

    def _rows(self, inputs: StudyInputs) -> list[dict] | None:
        files = []
        for obj in inputs.objects:
            try:
                data = self.source.instance_file(obj.orthanc_id)
            except Exception as exc:
                if is_outage(exc):
                    raise
                data = None
            if data is not None:  # deleted meanwhile: its deletion marks the study due again
                files.append(({"dose_object_id": obj.dose_object_id, "sop_instance_uid": obj.sop_instance_uid,
                               "role": obj.role, "factors": dict(obj.factors)}, data))
        try:
            return self.compute(files, inputs.patient, inputs.exam_region)
        except ChildFailed as exc:
            if self._stop.is_set():
                return None
            log.error("derived doses of study %d not computed: %s", inputs.study_id, exc)
            return failed_rows(str(exc))

    def state(self) -> dict:
        """For ``GET health``: the process's pid, how many were started, studies computed and still due, the last
        error."""
        process = getattr(self.compute, "__self__", None)
        with self.sessions() as session:
            due = due_count(session)
        return {"state": "error" if self.last_error else "running", "pid": getattr(process, "pid", None),
                "processes_started": getattr(process, "started", None), "studies_computed": self.computed,
                "studies_due": due, "error": self.last_error}

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        process = getattr(self.compute, "__self__", None)
        if isinstance(process, ChildProcess):
            process.stop()  # first: a study being computed is abandoned (it stays due), not waited for
        super().stop(timeout)
