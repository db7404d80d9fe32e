"""The back-fill runner: a daemon thread that works on one job at a time, one DICOM operation at a time.

A running job goes through its phases (:mod:`.models`): the studies of each day of its range (one C-FIND a day),
the series and instances of each study found (C-FINDs; :mod:`.selection` picks the dose objects), the retrieves
(one C-MOVE per series, RDSRs first, then dose screens, then header images), and the wait until the ingest has
recorded what arrived.  Each step commits its result with the job's new position, so after a restart the job goes
on from there; objects whose retrieve was under way are looked up in Orthanc (arrived: retrieved; else asked for
again).  Objects already in Orthanc are never asked for.

Pausing or cancelling takes effect after the operation under way.  A refusal of the remote (down, busy, a DIMSE
error) is retried after a back-off; a study or object the remote keeps refusing while it answers the others is
given up after :data:`MAX_ATTEMPTS` and counted among the job's errors with the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from .. import clock
from ..background import PeriodicThread
from ..config import BackfillSettings
from ..db.models import DoseObject
from .jobs import next_job, recorded_condition
from .models import (DONE, FAILED, FOUND, LISTED, MOVING, PENDING, PRESENT, QUEUED, RECORDING, RETRIEVE, RETRIEVED,
                     RUNNING, SERIES, STUDIES, STUDY_ERROR, BackfillJob, BackfillObject, BackfillStudy)
from .remote import RemoteError, RemotePacs
from .selection import INSTANCE_KEYS, KINDS, SERIES_KEYS, STUDY_KEYS, Options, dose_objects, series_wanted, \
    study_wanted, values
from .throttle import LAG_WAIT_S, Throttle, backoff

log = logging.getLogger("kerma.backfill")

POLL_SECONDS = 2.0  # longest wait between looks for a job (and, while recording, at the ledger)
MAX_ATTEMPTS = 3
MAX_PER_RETRIEVE = 50  # objects of one series asked for in one C-MOVE
JOB_POLL_SECONDS = 0.2  # between looks at the state of Orthanc's retrieve job
OWN_ARRIVALS_S = 2.0  # Orthanc tells of a stored instance a moment later: how long a retrieve's may still come
UID_LENGTH = 64
LONG_UID = "UID longer than 64 characters: it cannot be asked for"


class Interrupted(Exception):
    """The job was paused or cancelled, or the thread is stopping, while the step waited for its turn."""


@dataclass(frozen=True)
class _Job:
    """What a step needs of its job, read when the tick began."""

    id: int
    modality: str
    phase: str
    options: Options
    date_from: dt.date
    date_to: dt.date
    next_date: dt.date | None
    failures: int


class BackfillRunner(PeriodicThread):
    """Runs back-fill jobs (:mod:`kerma.backfill`); started and stopped with Orthanc.

    Parameters
    ----------
    sessions : sessionmaker
        The dose database.
    remote : RemotePacs
        Orthanc's modalities, jobs and instances.
    settings : BackfillSettings
        Rates, the ingest lag that makes it wait, timeouts.
    lag : callable
        Changes of Orthanc's log not yet ingested by Kerma (None: unknown).
    monotonic : callable
        The clock of the throttle (seconds).
    """

    name = "kerma-backfill"

    def __init__(self, sessions: sessionmaker, remote: RemotePacs, settings: BackfillSettings,
                 lag: Callable[[], int | None], monotonic: Callable[[], float] = time.monotonic,
                 poll_seconds: float = POLL_SECONDS):
        super().__init__(poll_seconds)
        self.sessions = sessions
        self.remote = remote
        self.settings = settings
        self.lag = lag
        self.monotonic = monotonic
        self.throttle = Throttle(settings.queries_per_second, settings.instances_per_second, settings.max_lag,
                                 settings.quiet_seconds, monotonic)
        self._expected = 0  # instances the job's retrieves have asked for and Orthanc has not yet told of
        self._own_until = 0.0  # (monotonic) until then, the last retrieve's instances may still be told of
        self._lock = threading.Lock()

    def tick(self) -> bool:
        job = self._current()
        if job is None:
            return False
        step = {STUDIES: self._studies, SERIES: self._series, RETRIEVE: self._retrieve, RECORDING: self._recording}
        try:
            more = step[job.phase](job)
        except Interrupted:
            return True
        except RemoteError as exc:
            failures = self._refused(job, exc)
            self.sleep(backoff(failures))
            return True
        if job.failures:
            self._answered(job)
        return more

    # --- the job --------------------------------------------------------------------------------------------------

    def _current(self) -> _Job | None:
        with self.sessions() as session, session.begin():
            job = next_job(session)
            if job is None:
                return None
            if job.state == QUEUED:
                job.state = RUNNING
                job.started_at = job.started_at or clock.now()
                if job.phase is None:
                    job.phase, job.next_date = STUDIES, job.date_from
                log.info("back-fill job %d: running (%s)", job.id, job.phase)
            return _Job(job.id, job.remote_modality, job.phase, Options.from_json(job.options), job.date_from,
                        job.date_to, job.next_date, job.failures)

    @staticmethod
    def _locked(session: Session, job_id: int) -> BackfillJob | None:
        """The job, locked for this transaction, when it is still running (else None: paused or cancelled)."""
        job = session.get(BackfillJob, job_id, with_for_update=True)
        return job if job is not None and job.state == RUNNING else None

    def _next_phase(self, job: _Job, phase: str | None) -> None:
        with self.sessions() as session, session.begin():
            row = self._locked(session, job.id)
            if row is None:
                return
            if phase is None:
                row.state, row.phase, row.finished_at = DONE, None, clock.now()
                log.info("back-fill job %d: done", job.id)
            else:
                row.phase = phase

    def _refused(self, job: _Job, exc: Exception) -> int:
        with self.sessions() as session, session.begin():
            row = session.get(BackfillJob, job.id)
            row.failures += 1
            row.last_error = str(exc)[:2000]
            log.warning("back-fill job %d: refused (%s); trying again in %.0f s", job.id, _first_line(exc),
                        backoff(row.failures))
            return row.failures

    def _answered(self, job: _Job) -> None:
        with self.sessions() as session, session.begin():
            row = session.get(BackfillJob, job.id)
            row.failures, row.last_error = 0, None

    def _running(self, job_id: int) -> bool:
        with self.sessions() as session:
            return session.scalar(select(BackfillJob.state).where(BackfillJob.id == job_id)) == RUNNING

    # --- pacing ---------------------------------------------------------------------------------------------------

    def arrived(self) -> None:
        """Orthanc has stored a new instance (its change callback, on Orthanc's thread).  Beyond the instances the
        job's retrieves asked for, a modality is storing: the job gives way (``BackfillQuietSeconds``)."""
        with self._lock:
            if self._expected > 0:
                self._expected -= 1
                return
        self.throttle.live()

    def _expect(self, count: int) -> None:
        """A retrieve asks for ``count`` instances; what earlier ones asked for and did not bring is forgotten once
        Orthanc had time to tell of it."""
        with self._lock:
            self._expected = count + (self._expected if self.monotonic() <= self._own_until else 0)

    def _wait(self, job: _Job) -> None:
        """Wait for the throttle (rates, live objects, the ingest's lag); :class:`Interrupted` when the job stops
        meanwhile."""
        while True:
            delay = self.throttle.delay(self.lag())
            if delay <= 0:
                return
            if self.sleep(min(delay, LAG_WAIT_S)) or not self._running(job.id):
                raise Interrupted

    def _find(self, job: _Job, level: str, keys: dict) -> list[dict]:
        self._wait(job)
        self.throttle.queried()
        return self.remote.find(job.modality, level, keys, self.settings.timeout_seconds)

    # --- the phases -----------------------------------------------------------------------------------------------

    def _studies(self, job: _Job) -> bool:
        """The studies of the next day of the range."""
        day = job.next_date
        answers = self._find(job, "Study", {**dict.fromkeys(STUDY_KEYS, ""), "StudyDate": day.strftime("%Y%m%d")})
        with self.sessions() as session, session.begin():
            row = self._locked(session, job.id)
            if row is None:
                return True
            wanted = {}
            for answer in answers:
                uid = _uid(answer, "StudyInstanceUID")
                date = _date(answer) or day
                if uid and job.date_from <= date <= job.date_to and study_wanted(answer, job.options):
                    wanted.setdefault(uid, date)
            known = _stored_uids(session, BackfillStudy.study_instance_uid, BackfillStudy.job_id == job.id, wanted)
            for uid, date in wanted.items():
                if BackfillStudy.study_instance_uid.type.stored(uid) in known:
                    continue  # asked for on another day (a remote that does not match on the date)
                long = len(uid) > UID_LENGTH
                session.add(BackfillStudy(job_id=job.id, study_instance_uid=uid, study_date=date, attempts=0,
                                          state=STUDY_ERROR if long else FOUND, error=LONG_UID if long else None))
            row.next_date = day + dt.timedelta(days=1)
            if row.next_date > row.date_to:
                row.next_date, row.phase = None, SERIES
        return True

    def _series(self, job: _Job) -> bool:
        """The dose objects of the next study found: its series, and the instances of those that may hold some."""
        with self.sessions() as session:
            study = session.scalars(select(BackfillStudy).where(BackfillStudy.job_id == job.id,
                                                                BackfillStudy.state == FOUND)
                                    .order_by(BackfillStudy.attempts, BackfillStudy.study_date, BackfillStudy.id)
                                    .limit(1)).first()
            if study is None:
                self._next_phase(job, RETRIEVE)
                return True
            study_id, study_uid = study.id, study.study_instance_uid
        found: list[tuple[str, str, str]] = []
        try:
            for series in self._find(job, "Series", {**dict.fromkeys(SERIES_KEYS, ""), "StudyInstanceUID": study_uid}):
                series_uid = _uid(series, "SeriesInstanceUID")
                if not series_uid or not series_wanted(series, job.options):
                    continue
                instances = self._find(job, "Instance", {**dict.fromkeys(INSTANCE_KEYS, ""),
                                                         "StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid})
                found += [(series_uid, uid, kind) for uid, kind in dose_objects(series, instances, job.options)]
        except RemoteError as exc:
            self._study_refused(job, study_id, exc)
            raise
        with self.sessions() as session, session.begin():
            study = session.get(BackfillStudy, study_id)
            if study.state != FOUND:
                return True
            known = _stored_uids(session, BackfillObject.sop_instance_uid, BackfillObject.job_id == job.id,
                                 [uid for _, uid, _ in found])
            for series_uid, uid, kind in found:
                stored = BackfillObject.sop_instance_uid.type.stored(uid)
                if stored in known:
                    continue
                known.add(stored)
                long = len(uid) > UID_LENGTH or len(series_uid) > UID_LENGTH
                session.add(BackfillObject(job_id=job.id, study_id=study_id, series_instance_uid=series_uid,
                                           sop_instance_uid=uid, kind=kind, attempts=0, state=FAILED if long else PENDING,
                                           error=LONG_UID if long else None))
            study.state = LISTED
        return True

    def _study_refused(self, job: _Job, study_id: int, exc: Exception) -> None:
        """Counted against the study only when the remote answered the operation before (it is not simply down)."""
        if job.failures:
            return
        with self.sessions() as session, session.begin():
            study = session.get(BackfillStudy, study_id)
            study.attempts += 1
            if study.attempts >= MAX_ATTEMPTS:
                study.state, study.error = STUDY_ERROR, f"its series could not be listed: {_first_line(exc)}"

    def _retrieve(self, job: _Job) -> bool:
        """Ask for the next pending objects of one series (RDSRs first, then screens, then header images)."""
        self._settle(job, MOVING, "its retrieve was interrupted")  # after a restart in the middle of one
        priority = case({kind: rank for rank, kind in enumerate(KINDS)}, value=BackfillObject.kind)
        with self.sessions() as session:
            first = session.scalars(select(BackfillObject).where(BackfillObject.job_id == job.id,
                                                                 BackfillObject.state == PENDING)
                                    .order_by(priority, BackfillObject.attempts, BackfillObject.id).limit(1)).first()
            if first is None:
                self._next_phase(job, RECORDING)
                return True
            study_uid = first.study.study_instance_uid
            series_uid = first.series_instance_uid
            batch = session.execute(select(BackfillObject.id, BackfillObject.sop_instance_uid).where(
                BackfillObject.job_id == job.id, BackfillObject.state == PENDING,
                BackfillObject.study_id == first.study_id, BackfillObject.series_instance_uid == series_uid,
                BackfillObject.kind == first.kind).order_by(BackfillObject.id).limit(MAX_PER_RETRIEVE)).all()
        present = [object_id for object_id, uid in batch if self.remote.has_instance(uid)]
        if present:  # in Orthanc already: not asked for (again)
            self._mark_present(present)
        wanted = [(object_id, uid) for object_id, uid in batch if object_id not in set(present)]
        if not wanted:
            return True
        self._wait(job)
        self.throttle.retrieved(len(wanted))
        ids = [object_id for object_id, _ in wanted]
        self._set(ids, MOVING, attempts=+1)
        self._expect(len(wanted))
        try:
            try:
                orthanc_job = self.remote.retrieve(job.modality, "Instance", {
                    "StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid,
                    "SOPInstanceUID": "\\".join(uid for _, uid in wanted)}, self.settings.timeout_seconds)
            except RemoteError:
                self._set(ids, PENDING, attempts=-1)  # not asked for: the remote is down, not these objects' fault
                raise
            outcome = self._outcome(orthanc_job, len(wanted))
        finally:
            self._own_until = self.monotonic() + OWN_ARRIVALS_S
        if outcome is None:
            return False  # Orthanc is stopping: the objects stay asked for, settled after the restart
        self._settle(job, MOVING, outcome, ids)
        return True

    def _outcome(self, orthanc_job: str, count: int) -> str | None:
        """Wait for Orthanc's retrieve job: ``""`` when it succeeded, why not otherwise, None when stopping."""
        deadline = self.monotonic() + self.settings.timeout_seconds * (1 + count)
        while True:
            state = self.remote.job(orthanc_job)
            if state is None:
                return "Orthanc no longer knows its retrieve job"
            if state.get("State") == "Success":
                return ""
            if state.get("State") == "Failure":
                return f"the retrieve failed: {state.get('ErrorDetails') or state.get('ErrorDescription') or 'no reason'}"
            if self.monotonic() > deadline:
                return "the retrieve did not finish in time"
            if self.sleep(JOB_POLL_SECONDS):
                return None

    def _settle(self, job: _Job, state: str, why: str, ids: Iterable[int] | None = None) -> None:
        """Objects asked for: retrieved when Orthanc has them now, else pending again (given up after
        :data:`MAX_ATTEMPTS`), with ``why``."""
        with self.sessions() as session:
            stmt = select(BackfillObject.id, BackfillObject.sop_instance_uid).where(
                BackfillObject.job_id == job.id, BackfillObject.state == state)
            if ids is not None:
                stmt = stmt.where(BackfillObject.id.in_(list(ids)))
            asked = session.execute(stmt).all()
        arrived = {object_id for object_id, uid in asked if self.remote.has_instance(uid)}
        with self.sessions() as session, session.begin():
            for object_id, _ in asked:
                obj = session.get(BackfillObject, object_id)
                if object_id in arrived:
                    obj.state, obj.retrieved_at, obj.error = RETRIEVED, clock.now(), None
                else:
                    obj.error = why or "the remote did not send it"
                    obj.state = FAILED if obj.attempts >= MAX_ATTEMPTS else PENDING

    def _mark_present(self, ids: list[int]) -> None:
        with self.sessions() as session, session.begin():
            for object_id in ids:
                obj = session.get(BackfillObject, object_id)
                # asked for before (the answer came late, or a restart intervened): it was retrieved by the job
                obj.state = RETRIEVED if obj.attempts else PRESENT
                obj.retrieved_at = clock.now() if obj.attempts else None

    def _set(self, ids: list[int], state: str, attempts: int) -> None:
        with self.sessions() as session, session.begin():
            for object_id in ids:
                obj = session.get(BackfillObject, object_id)
                obj.state, obj.attempts = state, obj.attempts + attempts

    def _recording(self, job: _Job) -> bool:
        """Done once every object retrieved (or already present) is in the ledger, or the ingest has nothing left."""
        with self.sessions() as session:
            arrived = (BackfillObject.job_id == job.id) & BackfillObject.state.in_((RETRIEVED, PRESENT))
            expected = session.scalar(select(func.count()).select_from(BackfillObject).where(arrived))
            recorded = session.scalar(select(func.count()).select_from(BackfillObject)
                                      .join(DoseObject, recorded_condition()).where(arrived))
        if recorded < expected and self.lag() != 0:
            return False
        self._next_phase(job, None)
        return True


def _uid(answer: dict, keyword: str) -> str:
    raw = answer.get(keyword)
    return str(raw).strip().rstrip("\x00") if raw is not None else ""


def _date(answer: dict) -> dt.date | None:
    found = values(answer, "StudyDate")
    try:
        return dt.datetime.strptime(found[0], "%Y%m%d").date() if found else None
    except ValueError:
        return None


def _stored_uids(session: Session, column, condition, uids: Iterable[str]) -> set[str]:
    """Those of ``uids`` already in ``column`` (as stored) among the rows matching ``condition``."""
    stored = {column.type.stored(uid) for uid in uids}
    if not stored:
        return set()
    return set(session.scalars(select(column).where(condition, column.in_(stored))))


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:300]
