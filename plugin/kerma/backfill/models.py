"""Tables of back-fill jobs: the job, the studies its C-FINDs found, the dose objects it retrieves.

Every step of a job writes its result and the job's new position in one transaction, so that a restart (or a
crash) repeats at most the step that was under way: a day whose studies were listed is not asked again, a study
whose series were listed is not listed again, an object that arrived is not retrieved again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..db.models import Base
from ..db.received import ReceivedText

# a job's states; queued and running jobs are run one at a time, oldest running first
QUEUED, RUNNING, PAUSED, CANCELLED, DONE = "queued", "running", "paused", "cancelled", "done"
FINAL = (CANCELLED, DONE)
# the phases of a running job, in order: the studies of each day, the series and instances of each study, the
# retrieves, then the wait until the ingest has recorded what arrived
STUDIES, SERIES, RETRIEVE, RECORDING = "studies", "series", "retrieve", "recording"
# a study found: its series not yet listed, listed (its dose objects are rows), or not listable (error)
FOUND, LISTED, STUDY_ERROR = "found", "listed", "error"
# an object: to retrieve, asked for (a retrieve under way), retrieved by the job, already in Orthanc before the job
# asked for it, or given up (error)
PENDING, MOVING, RETRIEVED, PRESENT, FAILED = "pending", "moving", "retrieved", "present", "failed"


class BackfillJob(Base):
    """One back-fill: a remote modality, a range of study dates and what to fetch (``options``)."""

    __tablename__ = "backfill_job"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remote_modality: Mapped[str] = mapped_column(String(64), nullable=False)  # its name in Orthanc's DicomModalities
    date_from: Mapped[dt.date] = mapped_column(Date, nullable=False)
    date_to: Mapped[dt.date] = mapped_column(Date, nullable=False)
    options: Mapped[dict] = mapped_column(JSON, nullable=False)  # kerma.backfill.selection.Options, as JSON
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    phase: Mapped[str | None] = mapped_column(String(16))
    next_date: Mapped[dt.date | None] = mapped_column(Date)  # the next day whose studies are to be asked for
    last_error: Mapped[str | None] = mapped_column(Text)  # the remote's or Orthanc's last refusal (retried)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # in a row: the back-off grows with it
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=clock.now)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=clock.now,
                                                    onupdate=clock.now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class BackfillStudy(Base):
    """A study the remote answered for a day of the job's range."""

    __tablename__ = "backfill_study"
    __table_args__ = (UniqueConstraint("job_id", "study_instance_uid", name="uq_backfill_study_job_uid"),
                      Index("ix_backfill_study_job_state", "job_id", "state"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("backfill_job.id", ondelete="CASCADE"), nullable=False)
    study_instance_uid: Mapped[str] = mapped_column(ReceivedText(64), nullable=False)
    study_date: Mapped[dt.date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class BackfillObject(Base):
    """A dose object of a found study: what kind (``rdsr``, ``screen``, ``image``) and how its retrieve went."""

    __tablename__ = "backfill_object"
    __table_args__ = (UniqueConstraint("job_id", "sop_instance_uid", name="uq_backfill_object_job_uid"),
                      Index("ix_backfill_object_job_state", "job_id", "state", "kind"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("backfill_job.id", ondelete="CASCADE"), nullable=False)
    study_id: Mapped[int] = mapped_column(ForeignKey("backfill_study.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    series_instance_uid: Mapped[str] = mapped_column(ReceivedText(64), nullable=False)
    sop_instance_uid: Mapped[str] = mapped_column(ReceivedText(64), nullable=False, index=True)  # = the ledger's
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # retrieves asked for it
    error: Mapped[str | None] = mapped_column(Text)
    retrieved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    study: Mapped[BackfillStudy] = relationship()
