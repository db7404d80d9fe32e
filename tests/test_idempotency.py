"""Idempotency-Key: a POST repeated with its key (a double click, a retry) creates one object, on both engines,
also when the repeats arrive at the same moment on several threads."""

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import func, select

from kerma import access, clock
from kerma.api import Context
from kerma.api.http import serve
from kerma.db.models import AlertRule, DrlSet, DrlValue, MappingRule, Recipient, ReportRun, ReportSchedule, StandardExam

WRITE = {"Content-Type": "application/json", "X-Requested-With": "kerma"}
ADMIN = frozenset({access.ADMIN})


@pytest.fixture
def post(sessions):
    ctx = Context(sessions)

    def post(path, body, key=None, user="mpe"):
        headers = {**WRITE, **({"Idempotency-Key": key} if key is not None else {})}
        response = serve(ctx, "POST", path, {}, headers, json.dumps(body).encode(), user, ADMIN)
        return response.status, json.loads(response.body)

    post.sessions = sessions
    return post


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def creations(post) -> list[tuple[str, dict, type]]:
    """Every POST that creates an object, with a valid body."""
    exam = post("exams", {"code": "CT-HEAD", "name": "CT head", "modality": "CT"})[1]["id"]
    drl_set = post("drl/sets", {"name": "Local 2026", "kind": "local"})[1]["id"]
    return [
        ("exams", {"code": "CT-CHEST", "name": "CT chest", "modality": "CT"}, StandardExam),
        ("mapping/rules", {"level": "exam", "standard_exam_id": exam,
                           "conditions": [{"field": "study_description", "op": "contains", "value": "head"}]}, MappingRule),
        ("drl/sets", {"name": "Achievable 2026", "kind": "achievable"}, DrlSet),
        (f"drl/sets/{drl_set}/values", {"standard_exam_id": exam, "quantity": "total_dlp_mGycm", "value": 900.0}, DrlValue),
        ("alerts/rules", {"name": "DLP above 1000", "kind": "absolute", "quantity": "total_dlp_mGycm", "level": "exam",
                          "parameters": {"threshold": 1000}}, AlertRule),
        ("notifications/recipients", {"name": "MPE", "role": "mpe", "email": "mpe@example.org"}, Recipient),
        ("reports", {"date_from": "2026-01-01", "date_to": "2026-01-31"}, ReportRun),
        ("reports/schedules", {"name": "Monthly", "period": "monthly"}, ReportSchedule),
    ]


def test_a_repeated_post_with_its_key_creates_one_object_and_gets_the_first_answer(post):
    for path, body, model in creations(post):
        before = count(post.sessions, model)
        first = post(path, body, key=f"k-{path}")
        assert first[0] == 200, (path, first)
        again = post(path, body, key=f"k-{path}")
        assert again == first, path
        assert count(post.sessions, model) == before + 1, path
        # without a key, or with another one, the same body is another request
        if model not in (StandardExam, DrlSet):  # these refuse a second one of the same name
            assert post(path, body, key=f"other-{path}")[0] == 200
            assert count(post.sessions, model) == before + 2, path


def test_simultaneous_repeats_create_one_object(post):
    exam = post("exams", {"code": "DX-CHEST", "name": "DX chest", "modality": "DX"})[1]["id"]
    body = {"level": "exposure", "standard_exam_id": exam, "conditions": [{"field": "protocol", "op": "equals", "value": "PA"}]}
    answers, start = [], threading.Barrier(6)

    def click():
        start.wait()
        answers.append(post("mapping/rules", body, key="double-click-1"))

    threads = [threading.Thread(target=click) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 6 and all(a == answers[0] for a in answers), answers
    assert answers[0][0] == 200
    assert count(post.sessions, MappingRule) == 1


def test_a_key_is_the_users_and_names_one_request(post):
    body = {"name": "Radiologist", "role": "radiologist", "email": "rad@example.org"}
    assert post("notifications/recipients", body, key="k1", user="alice")[0] == 200
    assert post("notifications/recipients", body, key="k1", user="bob")[0] == 200  # another user's key
    assert count(post.sessions, Recipient) == 2
    status, answer = post("notifications/recipients", {**body, "email": "other@example.org"}, key="k1", user="alice")
    assert status == 422 and "another request" in answer["error"]
    assert count(post.sessions, Recipient) == 2


def test_a_failed_first_request_keeps_nothing(post):
    bad = {"name": "MPE", "role": "mpe", "email": "not an address"}
    assert post("notifications/recipients", bad, key="retry-1")[0] == 400
    good = {**bad, "email": "mpe@example.org"}
    status, answer = post("notifications/recipients", good, key="retry-1")
    assert status == 200 and answer["email"] == "mpe@example.org"
    assert count(post.sessions, Recipient) == 1


def test_keys_expire_after_a_day(post):
    body = {"date_from": "2026-02-01", "date_to": "2026-02-28"}
    moment = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)
    with clock.use(clock.starting_at(moment)):
        first = post("reports", body, key="monthly-feb")
    with clock.use(clock.starting_at(moment + dt.timedelta(hours=23))):
        assert post("reports", body, key="monthly-feb") == first
    with clock.use(clock.starting_at(moment + dt.timedelta(hours=25))):
        later = post("reports", body, key="monthly-feb")
    assert later[0] == 200 and later[1]["id"] != first[1]["id"]
    assert count(post.sessions, ReportRun) == 2


def test_an_unusable_key_is_refused(post):
    for key in ("", " ", "é" * 3, "k" * 129, "two words"):
        status, answer = post("reports/schedules", {"name": "Weekly", "period": "weekly"}, key=key)
        assert status == 400 and answer["error"].startswith("Idempotency-Key"), key
    assert count(post.sessions, ReportSchedule) == 0
