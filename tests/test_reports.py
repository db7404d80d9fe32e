"""Monthly report: rendered in a spawned process, the PDF's pages render (pdftoppm) and its numbers match the data."""

import datetime as dt
import random
import subprocess
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import select

from kerma.classify.apply import remap_history
from kerma.config import Settings, SmtpSettings
from kerma.db.engine import make_engine, make_sessionmaker
from kerma.db.models import AlertRule, Device, OutboxMessage, Recipient, ReportRun, ReportSchedule
from kerma.db.schema import upgrade
from kerma.evaluate.rules import validated
from kerma.ingest.store import Processed, store_batch
from kerma.notify.poller import deliver_due
from kerma.reports.periods import last_complete
from kerma.reports.process import make_report
from kerma.reports.scheduler import due_scheduled_reports, make_pending_reports
from dose_setup import exam_with_drl
from records_factory import ct_study
from support.mailbox import Mailbox
from support.orthanc import free_port


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """February and March 2026 on two CT devices, CT Thorax mapped, a local DLP DRL, an alert rule."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'kerma.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rng = random.Random(5)
    records = []
    for month in (2, 3):
        for station in ("CT-A", "CT-B"):
            for _ in range(12):
                day = dt.date(2026, month, rng.randint(1, 28))
                record = ct_study(day.isoformat(), station, "Thorax", [round(rng.uniform(5, 20), 2)],
                                  [round(rng.uniform(200, 700), 1)], description="CT Thorax")
                time = f"{rng.randint(7, 18):02d}:{rng.randint(0, 59):02d}:00"
                records.append(replace(record, study=replace(record.study, study_time=time)))
    with sessions() as s, s.begin():
        exam_with_drl(s, "CT-THX", "CT Thorax", "CT", {"field": "study_description", "op": "equals", "value": "CT Thorax"},
                      quantity="total_dlp_mGycm", value=600.0)
        s.add(AlertRule(**validated({"name": "Above DRL", "kind": "drl", "level": "exam", "notify_roles": ["mpe"]}), version=1))
        s.add(Recipient(name="MPE", role="mpe", email="mpe@hospital.example"))
        s.flush()
        remap_history(s)
    with sessions() as s, s.begin():
        store_batch(s, [Processed(i + 1, f"id-{i}", r) for i, r in enumerate(records)], last_seq=len(records))
    with sessions() as s:
        devices = {d.station_name: d for d in s.scalars(select(Device))}
    yield url, sessions, records, devices
    engine.dispose()


@pytest.fixture(scope="module")
def march(database, tmp_path_factory):
    url, sessions, records, devices = database
    with sessions() as s, s.begin():
        run = ReportRun(period="monthly", period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 3, 31),
                        roles=["mpe"], status="pending", requested_by="test")
        s.add(run)
        s.flush()
        run_id = run.id
    assert make_report(url, run_id, timeout=300)  # a spawned child process renders it
    with sessions() as s:
        run = s.get(ReportRun, run_id)
        assert run.status == "done", run.error
        folder = tmp_path_factory.mktemp("pdf")
        (folder / "report.pdf").write_bytes(run.pdf)
        return run, folder


def test_the_pdf_opens_and_every_page_renders(march):
    run, folder = march
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(folder / "report.pdf"), str(folder / "page")], check=True)
    pages = sorted(folder.glob("page-*.png"))
    # summary table, 1 trend chart + table, 1 distribution chart + table, alerts chart + table, above-DRL table,
    # heatmap + procedure chart + load table
    assert len(pages) == 11 and all(p.stat().st_size > 1000 for p in pages)
    assert run.summary["charts"] == 5 and run.summary["sections"] == [
        "Summary", "Median dose per standard exam over time, against the DRL", "Distribution per device in the period",
        "Alerts in the period", "Examinations above the DRL", "Modality load"]


def _pdf_text(folder) -> str:
    return subprocess.run(["pdftotext", "-layout", str(folder / "report.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_the_numbers_in_the_report_are_the_data(database, march):
    url, sessions, records, devices = database
    run, folder = march
    text, page = _pdf_text(folder), run.html
    in_march = [r for r in records if r.study.study_date.startswith("2026-03")]
    dlp = lambda rs: [r.totals["ct_dlp_total_mGycm"] for r in rs]  # noqa: E731
    assert run.summary["examinations"] == len(in_march)
    above = [v for v in dlp(in_march) if v > 600.0]
    assert run.summary["above_drl"] == len(above) and run.summary["alerts"] == len(above)
    for month in ("2026-02", "2026-03"):  # the trend: median DLP per month against the DRL
        values = dlp([r for r in records if r.study.study_date.startswith(month)])
        median = f"{float(np.median(values)):.4g}"
        for output in (text, page):
            assert f"{month}" in output and median in output, (month, median)
        ratio = f"{float(np.median(values)) / 600.0:.4g}"
        assert ratio in text and ratio in page
    for station, device in devices.items():  # the distribution per device in March
        values = dlp([r for r in in_march if r.device.station_name == station])
        for stat in (np.median(values), np.percentile(values, 25), np.percentile(values, 75), max(values)):
            assert f"{float(stat):.4g}" in text and f"{float(stat):.4g}" in page, (station, stat)
    for value in above:  # each exam above the DRL, with its ratio
        assert f"{value:.4g}" in text and f"{value / 600:.2f}" in text
    weekdays = [0] * 7
    for r in in_march:
        weekdays[dt.date.fromisoformat(r.study.study_date).weekday()] += 1
    assert f"<td>CT Thorax</td><td>{len(in_march)}</td>" + "".join(f"<td>{n}</td>" for n in weekdays) in page
    for title in ("CT Thorax: median DLP per month against the DRL", "CT Thorax: DLP per device in the period",
                  "Examinations by weekday and hour", "Examinations by weekday and procedure", "Alerts in the period"):
        assert f"alt='{title}" in page, title


def test_the_report_is_emailed_to_its_roles_with_the_pdf_attached(database, march):
    url, sessions, records, devices = database
    run, _ = march
    with sessions() as s:
        (message,) = s.scalars(select(OutboxMessage).where(OutboxMessage.report_id == run.id)).all()
        assert (message.channel, message.address, message.kind) == ("email", "mpe@hospital.example", "report")
    mailbox = Mailbox(free_port()).start()
    try:
        settings = Settings(database_url=url, smtp=SmtpSettings(host="127.0.0.1", port=mailbox.port))
        while sum(deliver_due(sessions, settings).values()):  # the alerts' e-mails first, then the report's
            pass
    finally:
        mailbox.stop()
    (email,) = [m for m in mailbox.messages if "Dose report 2026-03-01" in m["Subject"]]
    (attachment,) = list(email.iter_attachments())
    assert attachment.get_filename() == "kerma-report-2026-03-01-2026-03-31.pdf"
    assert attachment.get_content() == run.pdf
    assert f"Examinations: {run.summary['examinations']}" in email.get_body(("plain",)).get_content()


def test_a_monthly_schedule_makes_last_months_report_once(database):
    url, sessions, records, devices = database
    assert last_complete("monthly", dt.date(2026, 4, 15)) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert last_complete("weekly", dt.date(2026, 4, 15)) == (dt.date(2026, 4, 6), dt.date(2026, 4, 12))
    assert last_complete("quarterly", dt.date(2026, 4, 15)) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    with sessions() as s, s.begin():
        s.add(ReportSchedule(name="Monthly CT", period="monthly", roles=[], filters={"modality": "CT"}))
    assert due_scheduled_reports(sessions, dt.date(2026, 4, 2)) == 1
    assert due_scheduled_reports(sessions, dt.date(2026, 4, 20)) == 0
    assert make_pending_reports(sessions, url) == 1
    with sessions() as s:
        (run,) = s.scalars(select(ReportRun).where(ReportRun.schedule_id.is_not(None))).all()
        assert (run.status, run.period_start, run.period_end) == ("done", dt.date(2026, 3, 1), dt.date(2026, 3, 31))
        assert run.pdf.startswith(b"%PDF") and run.summary["examinations"] == 24
