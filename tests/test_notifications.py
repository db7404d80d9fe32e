"""Notifications: the outbox survives an SMTP outage (none lost, none twice), webhooks, recipients, the daily digest."""

import datetime as dt
import hashlib
import hmac
import itertools
import threading
import time

import pytest
from sqlalchemy import select

from kerma import clock
from kerma.notify import outbox
from kerma.config import Settings, SmtpSettings
from kerma.db.models import Alert, AlertRule, OutboxMessage, Recipient
from kerma.evaluate.rules import validated
from kerma.ingest.store import Processed, store_batch
from kerma.notify.digest import daily_digest, previous_working_day
from kerma.notify.poller import OutboxPoller, configure, deliver_due
from kerma.reports.scheduler import due_digest
from records_factory import ct_study
from support.mailbox import Mailbox, WebhookReceiver
from support.orthanc import free_port

_seq = itertools.count(1)
MONDAY_NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)  # a Monday in every time zone within ±11 h


@pytest.fixture
def monday():
    """The product's clock pinned to a Monday (it advances from there): no test depends on the day it runs."""
    with clock.use(clock.starting_at(MONDAY_NOON)):
        yield clock.today()


@pytest.fixture
def sessions(sessions):
    """A fresh database with a rule that fires above DLP 100 and tells the MPE, and two recipients."""
    with sessions() as s, s.begin():
        s.add(AlertRule(**validated({"name": "DLP above 100", "kind": "absolute", "quantity": "total_dlp_mGycm", "level": "exam",
                                 "parameters": {"threshold": 100.0}, "notify_roles": ["mpe"], "severity": "warning"}),
                        version=1))
        s.add(Recipient(name="Medical physics", role="mpe", email="mpe@hospital.example", daily_digest=True))
        s.add(Recipient(name="Radiographers", role="radiographer", email="rad@hospital.example"))
    yield sessions
    outbox.set_targets(outbox.Targets())  # no webhooks and no back-fill cut-off for the next test


def settings_for(port, **kw):
    kw.setdefault("notify_within_days", 0)  # these studies are months old: every alert is told (cut-off: its own tests)
    return Settings(database_url="unused", smtp=SmtpSettings(host="127.0.0.1", port=port, sender="kerma@hospital.example"),
                    base_url="https://kerma.hospital.example", outbox_poll_seconds=0.2, **kw)


def store_alerting_studies(sessions, count):
    records = [ct_study("2026-03-02", "CT-A", "Abdomen", [10.0], [150.0 + i]) for i in range(count)]
    with sessions() as s, s.begin():
        store_batch(s, [Processed(next(_seq), f"id-{next(_seq)}", r) for r in records], last_seq=next(_seq))
    return records


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def statuses(sessions):
    with sessions() as s:
        return [(m.status, m.attempts) for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_smtp_down_during_three_alerts_then_up_gives_exactly_three_emails(sessions):
    port = free_port()
    poller = OutboxPoller(sessions, settings_for(port))
    poller.start()
    try:
        records = store_alerting_studies(sessions, 3)
        wait_for(lambda: all(attempts >= 1 for _, attempts in statuses(sessions)) and len(statuses(sessions)) == 3)
        with sessions() as s:
            waiting = s.scalars(select(OutboxMessage)).all()
            assert {m.status for m in waiting} == {"pending"} and all("Connection refused" in m.last_error for m in waiting)
        mailbox = Mailbox(port).start()  # the server comes back
        try:
            wait_for(lambda: [status for status, _ in statuses(sessions)] == ["sent"] * 3)
            time.sleep(1.0)  # several more polls: nothing is sent again
            assert len(mailbox.messages) == 3
        finally:
            mailbox.stop()
    finally:
        poller.stop()
    subjects = sorted(m["Subject"] for m in mailbox.messages)
    assert all("DLP above 100" in subject for subject in subjects)
    assert sorted(m["To"] for m in mailbox.messages) == ["mpe@hospital.example"] * 3  # the rule tells the MPE only
    assert len({m["Message-ID"] for m in mailbox.messages}) == 3
    bodies = "\n".join(m.get_content() for m in mailbox.messages)
    for record in records:
        uid = record.study_instance_uid
        assert f"https://kerma.hospital.example/kerma/ui/#/studies/{uid}" in bodies
    assert "Test^Patient" not in bodies and records[0].patient.patient_id not in bodies  # no patient identifiers


def test_two_pollers_never_send_one_message_twice(sessions):
    port = free_port()
    mailbox = Mailbox(port).start()
    try:
        store_alerting_studies(sessions, 8)
        settings = settings_for(port)
        threads = [threading.Thread(target=deliver_due, args=(sessions, settings)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deliver_due(sessions, settings)  # whatever a lost race left
        assert len(mailbox.messages) == 8
        assert len({m["Subject"] for m in mailbox.messages}) == 8
    finally:
        mailbox.stop()


def test_a_refused_recipient_fails_for_good_and_can_be_retried(sessions):
    port = free_port()
    mailbox = Mailbox(port).start()
    mailbox.refuse.add("mpe@hospital.example")
    try:
        store_alerting_studies(sessions, 1)
        assert deliver_due(sessions, settings_for(port)) == {"sent": 0, "retry": 0, "failed": 1}
        assert deliver_due(sessions, settings_for(port)) == {"sent": 0, "retry": 0, "failed": 0}  # not retried by itself
        with sessions() as s:
            (message,) = s.scalars(select(OutboxMessage)).all()
            assert message.status == "failed" and "550" in message.last_error
    finally:
        mailbox.stop()


def test_webhook_posts_the_alert_signed_and_retries_a_server_error(sessions):
    receiver = WebhookReceiver(free_port(), status=503).start()
    try:
        configure(settings_for(free_port(), webhooks=({"Url": receiver.url, "Secret": "s3cret"},)))
        with sessions() as s, s.begin():
            for r in s.scalars(select(Recipient)):
                r.enabled = False  # webhooks only
        (record,) = store_alerting_studies(sessions, 1)
        settings = settings_for(free_port(), webhooks=({"Url": receiver.url, "Secret": "s3cret"},))
        assert deliver_due(sessions, settings) == {"sent": 0, "retry": 1, "failed": 0}
        receiver.status = 200
        with sessions() as s, s.begin():
            s.scalars(select(OutboxMessage)).one().next_attempt_at = clock.now()  # skip the backoff
        assert deliver_due(sessions, settings) == {"sent": 1, "retry": 0, "failed": 0}
    finally:
        receiver.stop()
    first, second = receiver.calls
    assert first["body"] == second["body"] and first["headers"]["X-Kerma-Delivery"] == second["headers"]["X-Kerma-Delivery"]
    payload = second["json"]
    assert payload["event"] == "kerma.alert" and payload["study_instance_uid"] == record.study_instance_uid
    assert payload["value"] == pytest.approx(150.0) and payload["threshold"] == 100.0 and payload["unit"] == "mGy·cm"
    assert payload["link"].endswith(f"/kerma/ui/#/studies/{record.study_instance_uid}") and payload["actions"]
    signature = hmac.new(b"s3cret", second["body"], hashlib.sha256).hexdigest()
    assert second["headers"]["X-Kerma-Signature"] == f"sha256={signature}"


def test_alerts_on_back_filled_studies_are_recorded_but_not_sent(sessions, monday):
    configure(settings_for(free_port(), notify_within_days=30))
    recent = ct_study(monday.isoformat(), "CT-A", "Abdomen", [10.0], [300.0])
    back_filled = ct_study((monday - dt.timedelta(days=31)).isoformat(), "CT-A", "Abdomen", [10.0], [300.0])
    with sessions() as s, s.begin():
        store_batch(s, [Processed(next(_seq), f"id-{next(_seq)}", r) for r in (recent, back_filled)], last_seq=next(_seq))
    with sessions() as s:
        assert len(s.scalars(select(Alert)).all()) == 2
        (message,) = s.scalars(select(OutboxMessage)).all()
        assert s.get(Alert, message.alert_id).study_instance_uid == recent.study_instance_uid


def test_by_default_alerts_on_studies_older_than_two_weeks_are_recorded_but_not_sent(sessions, monday):
    settings = Settings.from_orthanc({"Kerma": {}})
    assert settings.notify_within_days == 14
    configure(settings)
    studies = {days: ct_study((monday - dt.timedelta(days=days)).isoformat(), "CT-A", "Abdomen", [10.0], [300.0])
               for days in (0, 14, 15, 3650)}
    with sessions() as s, s.begin():
        store_batch(s, [Processed(next(_seq), f"id-{next(_seq)}", r) for r in studies.values()], last_seq=next(_seq))
    with sessions() as s:
        assert len(s.scalars(select(Alert)).all()) == 4  # every alert is recorded (and listed in the digest)
        told = {s.get(Alert, m.alert_id).study_instance_uid for m in s.scalars(select(OutboxMessage))}
    assert told == {studies[0].study_instance_uid, studies[14].study_instance_uid}


def test_recipients_by_role_device_site_and_severity(sessions):
    from kerma.notify.recipients import recipients_for
    with sessions() as s, s.begin():
        s.add(Recipient(name="Site B MPE", role="mpe", email="b@hospital.example", site="Site B"))
        s.add(Recipient(name="High severity only", role="mpe", email="d7@hospital.example", min_severity="high"))
    with sessions() as s:
        names = lambda **kw: sorted(r.email for r in recipients_for(s, ["mpe"], **kw))  # noqa: E731
        assert names(site="Site A", severity="warning") == ["mpe@hospital.example"]
        assert names(site="site b", severity="warning") == ["b@hospital.example", "mpe@hospital.example"]
        assert names(site=None, severity="high") == ["d7@hospital.example", "mpe@hospital.example"]
        assert [r.email for r in recipients_for(s, ["radiographer", "rpo"])] == ["rad@hospital.example"]


def test_daily_digest_lists_what_needs_attention_once_per_working_day(sessions, monday):
    store_alerting_studies(sessions, 2)  # alerts created on Monday 2026-11-30 by the product's clock
    today = monday
    with sessions() as s, s.begin():
        alerts = s.scalars(select(Alert).order_by(Alert.id)).all()
        alerts[0].status, alerts[0].assignee = "acknowledged", None
        digest = daily_digest(s, today)
    assert digest["open"] == 2 and digest["counts"]["status"] == {"acknowledged": 1, "new": 1}
    assert [a["id"] for a in digest["new_since"]] == [a.id for a in alerts]
    assert [a["id"] for a in digest["unassigned"]] == [alerts[0].id]
    assert digest["since"] == previous_working_day(today).isoformat()
    settings = settings_for(free_port())
    saturday = dt.datetime(2026, 11, 28, 9, 0)
    monday_early, monday = dt.datetime(2026, 11, 30, 6, 59), dt.datetime(2026, 11, 30, 7, 0)
    assert due_digest(sessions, settings, saturday) == 0 and due_digest(sessions, settings, monday_early) == 0
    assert due_digest(sessions, settings, monday) == 1  # the MPE asked for the digest; the radiographers did not
    assert due_digest(sessions, settings, monday.replace(hour=15)) == 0  # once a day
    port = free_port()
    mailbox = Mailbox(port).start()
    try:
        deliver_due(sessions, settings_for(port))
    finally:
        mailbox.stop()
    digests = [m for m in mailbox.messages if "Daily digest" in m["Subject"]]
    assert len(digests) == 1 and "2026-11-30" in digests[0]["Subject"] and "2 open" in digests[0]["Subject"]
