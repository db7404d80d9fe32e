"""Back-fill jobs in the dose database: started, paused, resumed, cancelled, and what they have done so far.

What a job has recorded is counted, not kept: an object is recorded when the ingest ledger (``dose_object``) has a
row with its SOP Instance UID, whatever the ledger says of it (``ok``, ``ignored``, ``error``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from .. import clock
from ..db.models import DoseObject
from .models import (CANCELLED, FAILED, FINAL, FOUND, LISTED, MOVING, PAUSED, PENDING, PRESENT, QUEUED, RETRIEVED,
                     RUNNING, STUDY_ERROR, BackfillJob, BackfillObject, BackfillStudy)
from .selection import KINDS, Options

# action -> (states it may be taken from, the state it leads to, its past participle); a resumed job is queued again
# and goes on from where it was paused
ACTIONS = {
    "pause": ((QUEUED, RUNNING), PAUSED, "paused"),
    "resume": ((PAUSED,), QUEUED, "resumed"),
    "cancel": ((QUEUED, RUNNING, PAUSED), CANCELLED, "cancelled"),
}
ERROR_REASONS_SHOWN = 10


class NotAllowed(Exception):
    """The action is not possible in the job's state."""


def create(session: Session, modality: str, date_from: dt.date, date_to: dt.date, options: Options,
           user: str | None) -> BackfillJob:
    job = BackfillJob(remote_modality=modality, date_from=date_from, date_to=date_to, options=options.to_json(),
                      state=QUEUED, failures=0, created_by=user)
    session.add(job)
    session.flush()
    return job


def act(session: Session, job: BackfillJob, action: str) -> tuple[str, str]:
    """Pause, resume or cancel ``job``; returns (state before, state after).  Raises :class:`NotAllowed`."""
    allowed, target, done = ACTIONS[action]
    if job.state not in allowed:
        raise NotAllowed(f"a {job.state} job cannot be {done}")
    before, job.state = job.state, target
    if target in FINAL:
        job.finished_at = clock.now()
    return before, target


def next_job(session: Session) -> BackfillJob | None:
    """The job to work on: the oldest running one, else the oldest queued one (one job at a time)."""
    for state in (RUNNING, QUEUED):
        job = session.scalars(select(BackfillJob).where(BackfillJob.state == state).order_by(BackfillJob.id)).first()
        if job is not None:
            return job
    return None


def recorded_condition():
    """An object of a job has its row in the ingest ledger (the record of its SOP Instance UID, not a duplicate's)."""
    return and_(DoseObject.sop_instance_uid == BackfillObject.sop_instance_uid, DoseObject.duplicate_of_id.is_(None))


def progress(session: Session, job: BackfillJob) -> dict:
    """What the job found, retrieved and recorded so far, and its errors."""
    studies = dict(session.execute(select(BackfillStudy.state, func.count()).where(BackfillStudy.job_id == job.id)
                                   .group_by(BackfillStudy.state)).all())
    objects = Counter()
    recorded = Counter()
    for kind, state, count, in_ledger in session.execute(
            select(BackfillObject.kind, BackfillObject.state, func.count(), func.count(DoseObject.id))
            .outerjoin(DoseObject, recorded_condition()).where(BackfillObject.job_id == job.id)
            .group_by(BackfillObject.kind, BackfillObject.state)):
        objects[(kind, state)] += count
        recorded[kind] += in_ledger
    per_study = (select(BackfillObject.study_id, func.count().label("objects"),
                        func.count(DoseObject.id).label("recorded"))
                 .outerjoin(DoseObject, recorded_condition()).where(BackfillObject.job_id == job.id)
                 .group_by(BackfillObject.study_id).subquery())
    studies_recorded = session.scalar(select(func.count()).select_from(per_study)
                                      .where(per_study.c.objects == per_study.c.recorded))
    studies_with_objects = session.scalar(select(func.count()).select_from(per_study))
    found_studies = sum(studies.values())
    reasons = Counter()
    for error, count in session.execute(
            select(BackfillObject.error, func.count()).where(BackfillObject.job_id == job.id,
                                                             BackfillObject.state == FAILED)
            .group_by(BackfillObject.error)):
        reasons[error or "unknown"] += count
    for error, count in session.execute(
            select(BackfillStudy.error, func.count()).where(BackfillStudy.job_id == job.id,
                                                            BackfillStudy.state == STUDY_ERROR)
            .group_by(BackfillStudy.error)):
        reasons[error or "unknown"] += count

    def total(state=None, kind=None) -> int:
        return sum(n for (k, s), n in objects.items() if (state is None or s == state) and (kind is None or k == kind))

    days_total = (job.date_to - job.date_from).days + 1
    if job.next_date is not None:
        days_done = (job.next_date - job.date_from).days
    else:  # not started yet, or every day asked for
        days_done = 0 if job.phase is None else days_total
    return {
        "days": {"total": days_total, "done": days_done},
        "found": {"studies": found_studies, "studies_listed": studies.get(LISTED, 0), "objects": total(),
                  **{kind: total(kind=kind) for kind in KINDS}},
        "retrieved": total(RETRIEVED),
        "already_present": total(PRESENT),
        "pending": total(PENDING) + total(MOVING),
        "recorded": {"objects": sum(recorded.values()), **{kind: recorded[kind] for kind in KINDS},
                     "studies": studies_recorded,
                     "studies_without_dose_objects": studies.get(LISTED, 0) - studies_with_objects},
        "errors": {"count": sum(reasons.values()), "objects": total(FAILED), "studies": studies.get(STUDY_ERROR, 0),
                   "reasons": [{"reason": r, "count": n} for r, n in reasons.most_common(ERROR_REASONS_SHOWN)]},
        "studies_to_list": studies.get(FOUND, 0),
    }


def view(session: Session, job: BackfillJob) -> dict:
    """A job as the API shows it: no patient data (counts, dates, the modality's name)."""
    return {
        "id": job.id,
        "modality": job.remote_modality,
        "date_from": job.date_from.isoformat(),
        "date_to": job.date_to.isoformat(),
        "options": job.options,
        "state": job.state,
        "phase": job.phase if job.state not in FINAL else None,
        "last_error": job.last_error,
        "created_by": job.created_by,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "updated_at": _iso(job.updated_at),
        "finished_at": _iso(job.finished_at),
        **progress(session, job),
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
