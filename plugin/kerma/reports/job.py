"""The report job, run in a child process: data, rendering, storage and e-mails in one go.

Nothing here imports ``orthanc``: the module is the target of a ``spawn`` process started by
:mod:`kerma.reports.process`, so the CPU-heavy charting runs outside Orthanc's process.
"""

from __future__ import annotations

import traceback

from sqlalchemy import select

from .. import clock
from ..db.engine import make_engine, make_sessionmaker
from ..db.models import Device, ReportRun
from ..notify.outbox import enqueue_report
from .data import report_data
from .layout import sections
from .render import to_html, to_pdf


def run(database_url: str, run_id: int) -> None:
    """Make report ``run_id``: status ``running``, then ``done`` with PDF, HTML and summary, or ``failed``."""
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as session, session.begin():
            report = session.get(ReportRun, run_id)
            report.status = "running"
        try:
            with sessions() as session, session.begin():
                report = session.get(ReportRun, run_id)
                data = report_data(session, report.period_start, report.period_end, report.filters)
                names = {d.id: " ".join(filter(None, [d.manufacturer, d.model, d.station_name])) or f"device {d.id}"
                         for d in session.scalars(select(Device))}
                parts = sections(data, names)
                report.html = to_html(data["title"], parts)
                report.pdf = to_pdf(data["title"], parts)
                report.summary = {"title": data["title"], "examinations": data["examinations"],
                                  "alerts": data["alerts"]["total"], "above_drl": len(data["above_drl"]),
                                  "charts": sum(len(p.figures) for p in parts), "sections": [p.title for p in parts]}
                report.status, report.finished_at = "done", clock.now()
                enqueue_report(session, report)
        except Exception:
            with sessions() as session, session.begin():
                report = session.get(ReportRun, run_id)
                report.status, report.error = "failed", traceback.format_exc(limit=5)[-4000:]
                report.finished_at = clock.now()
            raise
    finally:
        engine.dispose()
