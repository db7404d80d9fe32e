"""The background jobs thread: the daily digest each working day, and reports (scheduled and on demand).

It only decides and waits: report rendering runs in a child process (:mod:`kerma.reports.process`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from .. import clock
from ..config import Settings
from ..db.models import ReportRun, ReportSchedule
from ..notify.digest import WORKING_DAYS
from ..background import PeriodicThread
from ..notify.outbox import enqueue_digest
from .periods import last_complete
from .process import make_report

TICK_SECONDS = 5.0


def due_digest(sessions: sessionmaker, settings: Settings, moment: dt.datetime) -> int:
    """Queue today's digest once the digest hour of a working day has come; returns how many messages were added."""
    if moment.weekday() not in WORKING_DAYS or moment.hour < settings.digest_hour:
        return 0
    with sessions() as session, session.begin():
        return enqueue_digest(session, moment.date(), settings.digest_roles)


def due_scheduled_reports(sessions: sessionmaker, today: dt.date) -> int:
    """Add a pending run for each enabled schedule whose last complete period has none; returns how many."""
    added = 0
    with sessions() as session, session.begin():
        for schedule in session.scalars(select(ReportSchedule).where(ReportSchedule.enabled.is_(True))):
            start, end = last_complete(schedule.period, today)
            exists = session.scalar(select(ReportRun.id).where(ReportRun.schedule_id == schedule.id,
                                                               ReportRun.period_start == start))
            if exists is None:
                session.add(ReportRun(schedule_id=schedule.id, period=schedule.period, period_start=start, period_end=end,
                                      filters=schedule.filters, roles=schedule.roles, status="pending",
                                      requested_by="schedule"))
                added += 1
    return added


def make_pending_reports(sessions: sessionmaker, database_url: str) -> int:
    """Render every pending report, oldest first, each in its own process; returns how many succeeded."""
    with sessions() as session:
        pending = list(session.scalars(select(ReportRun.id).where(ReportRun.status == "pending").order_by(ReportRun.id)))
    done = 0
    for run_id in pending:
        if make_report(database_url, run_id):
            done += 1
            continue
        with sessions() as session, session.begin():  # killed or crashed before it could say so itself
            report = session.get(ReportRun, run_id)
            if report.status in ("pending", "running"):
                report.status, report.error = "failed", "the report process stopped without finishing (see Orthanc's log)"
    return done


class Scheduler(PeriodicThread):
    """The daemon thread for the daily digest and reports (started and stopped with Orthanc)."""

    name = "kerma-scheduler"

    def __init__(self, sessions: sessionmaker, settings: Settings):
        super().__init__(TICK_SECONDS)
        self.sessions = sessions
        self.settings = settings

    def tick(self) -> bool:
        moment = clock.local_now()  # local time: the digest hour and the periods are the site's
        due_digest(self.sessions, self.settings, moment)
        due_scheduled_reports(self.sessions, moment.date())
        make_pending_reports(self.sessions, self.settings.database_url)
        return False
