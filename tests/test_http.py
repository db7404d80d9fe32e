"""The HTTP side of the API (pure, no Orthanc): bounded bodies, cross-site writes refused, strict JSON, headers."""

import csv
import datetime as dt
import html
import io
import json
import logging
import math
import random

import pytest
from sqlalchemy import func, select

from kerma import access, jsonout
from kerma.api import Context, export, http, router
from kerma.db.models import IdempotencyKey, StandardExam
from kerma.record import Event
from kerma.ui_page import ui_page
from test_access import WRITE_METHODS, ctx, sample_path, snapshot  # noqa: F401  (ctx is a fixture)

ADMIN = frozenset({access.ADMIN})
JSON_WRITE = {"Content-Type": "application/json", "X-Requested-With": "kerma"}
# what a page on another site can make a browser send with the user's cached credentials, and what it cannot
CROSS_SITE = {
    "text/plain form": {"Content-Type": "text/plain", "X-Requested-With": "kerma"},
    "url-encoded form": {"Content-Type": "application/x-www-form-urlencoded"},
    "no custom header": {"Content-Type": "application/json"},
    "foreign Origin": {**JSON_WRITE, "Origin": "http://attacker.example:8000", "Host": "pacs.example:8042"},
    "Sec-Fetch-Site: cross-site": {**JSON_WRITE, "Sec-Fetch-Site": "cross-site"},
}
BODY = b'{"name": "x", "text": "y", "note": "z", "code": "X", "email": "attacker@example.com", "value": 0.001}'


def strict_loads(data: bytes):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(data, parse_constant=refuse)


def call(ctx, method, path, headers=None, body=None, roles=ADMIN, query=None):
    return http.serve(ctx, method, path, query or {}, headers or {}, body, "alice", roles)


def nested(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"[1]" + b"}" * (depth - 1)


@pytest.mark.parametrize("form", CROSS_SITE)
def test_every_write_route_refuses_each_cross_site_form_and_changes_nothing(ctx, form):  # noqa: F811
    before = snapshot(ctx.sessions)
    writes = [r for r in router.ROUTES if r.method in WRITE_METHODS]
    for entry in writes:
        response = call(ctx, entry.method, sample_path(entry.pattern), CROSS_SITE[form], BODY)
        assert response.status == 403, (form, entry.method, entry.pattern.pattern, response.body)
        assert "error" in strict_loads(response.body)
    assert snapshot(ctx.sessions) == before


def test_a_same_origin_write_goes_through(ctx):  # noqa: F811
    same_origin = {**JSON_WRITE, "Origin": "http://pacs.example:8042", "Host": "pacs.example:8042",
                   "Sec-Fetch-Site": "same-origin"}
    created = call(ctx, "POST", "exams", same_origin, b'{"code": "CT-X", "name": "CT X", "modality": "CT"}')
    assert created.status == 200, created.body
    behind_proxy = {**JSON_WRITE, "Origin": "https://dose.example", "Host": "127.0.0.1:8042",
                    "X-Forwarded-Host": "dose.example"}
    assert call(ctx, "POST", "exams", behind_proxy, b'{"code": "CT-Y", "name": "CT Y", "modality": "CT"}').status == 200
    assert call(ctx, "GET", "exams", {"Sec-Fetch-Site": "cross-site"}).status == 200  # reads are not refused
    # header names arrive in any case
    assert call(ctx, "POST", "exams", {"content-type": "application/json; charset=utf-8", "x-requested-with": "Kerma"},
                b'{"code": "CT-Z", "name": "CT Z", "modality": "CT"}').status == 200


@pytest.mark.parametrize("depth", [600, 10_000, 1_000_000])
def test_deep_bodies_are_refused_before_parsing(ctx, depth):  # noqa: F811
    for method, path in [("POST", "exams"), ("POST", "mapping/rules"), ("PUT", "drl/values/1"), ("POST", "alerts/rules")]:
        for body in (b"[" * depth, b"[" * depth + b"]" * depth, nested(depth)):
            response = call(ctx, method, path, JSON_WRITE, body)
            if len(body) > http.MAX_BODY_BYTES:
                assert response.status == 413 and b"larger than" in response.body
            else:
                assert response.status == 400 and b"nests deeper than 32" in response.body


def test_body_size_and_content_limits(ctx):  # noqa: F811
    big = b'{"name": "' + b"x" * http.MAX_BODY_BYTES + b'"}'
    assert call(ctx, "POST", "exams", JSON_WRITE, big).status == 413
    for bad in (b"[NaN]", b'{"value": Infinity}', b'{"value": 1e309}', b"{", b"\xff\xfe{}", b"]]]][[[["):
        response = call(ctx, "POST", "exams", JSON_WRITE, bad)
        assert response.status == 400, bad
        assert strict_loads(response.body)["error"].startswith("the request body")
    at_limit = call(ctx, "POST", "exams", JSON_WRITE, nested(http.MAX_JSON_DEPTH))  # parsed, then judged by the handler
    assert not strict_loads(at_limit.body).get("error", "").startswith("the request body")


def test_the_depth_scan_agrees_with_the_parser():
    rng = random.Random(15)

    def value(depth):
        kind = rng.random()
        if depth > 0 and kind < 0.3:
            return [value(depth - 1) for _ in range(rng.randint(0, 3))]
        if depth > 0 and kind < 0.6:
            return {rng.choice(["a", "[", "}", '"]"', "\\"]): value(depth - 1) for _ in range(rng.randint(0, 3))}
        return rng.choice([1, 2.5, None, True, "x", "[[[", "]}", '\\"[', "\u00e9{"])

    def depth_of(v):
        if isinstance(v, list):
            return 1 + max(map(depth_of, v), default=0)
        if isinstance(v, dict):
            return 1 + max(map(depth_of, v.values()), default=0)
        return 0

    for _ in range(2000):
        v = value(rng.randint(0, 8))
        text = json.dumps(v).encode()
        assert http.json_depth(text, 100) == depth_of(v), text
        assert http.parse_body(text) == v


def test_every_answer_is_strict_json_non_finite_numbers_become_null_and_are_logged(ctx, monkeypatch, caplog):  # noqa: F811
    def poisoned(c, s, r):
        return {"studies": [{"patient": {"name": "DOE^JANE"}, "totals": {"dlp_mGycm": math.nan, "ok": 1.5}},
                            {"totals": {"dlp_mGycm": math.inf}}], "weight_kg": -math.inf}
    monkeypatch.setattr(router, "ROUTES", [router.Route("GET", router.re.compile("poisoned"), poisoned, "viewer", False)])
    with caplog.at_level(logging.WARNING, logger="kerma.api"):
        response = call(ctx, "GET", "poisoned")
    assert response.status == 200
    assert strict_loads(response.body) == {"studies": [{"patient": {"name": "DOE^JANE"}, "totals": {"dlp_mGycm": None, "ok": 1.5}},
                                                       {"totals": {"dlp_mGycm": None}}], "weight_kg": None}
    logged = caplog.text
    assert "3 non-finite" in logged and "studies[].totals.dlp_mGycm" in logged and "weight_kg" in logged
    assert "DOE" not in logged


class Dossier:
    """A type the API does not send, whose text holds what must never reach a log (default=str sent such text)."""

    def __repr__(self):
        return "Dossier(DOE^JANE, MRN-4711)"

    __str__ = __repr__


def only_route(monkeypatch, method, pattern, handler):
    monkeypatch.setattr(router, "ROUTES", [router.Route(method, router.re.compile(pattern), handler, "viewer", False)])


def test_an_answer_holding_a_type_the_api_does_not_send_is_a_500_logged_by_route_and_type_not_value(
        ctx, monkeypatch, caplog):  # noqa: F811
    only_route(monkeypatch, "GET", r"patients/(?P<patient_id>.+)", lambda c, s, r: {"studies": [{"patient": Dossier()}]})
    with caplog.at_level(logging.ERROR, logger="kerma.api"):
        response = call(ctx, "GET", "patients/MRN-4711")
    assert response.status == 500
    assert strict_loads(response.body) == {"error": "internal error, see Orthanc's log"}
    assert response.headers["Content-Security-Policy"] == http.API_CSP
    logged = caplog.text
    assert "GET patients/(?P<patient_id>.+)" in logged and "test_http.Dossier" in logged
    assert "DOE" not in logged and "MRN-4711" not in logged  # neither the value nor the path's patient id


def test_a_request_is_logged_by_its_route_never_its_path():
    """What Orthanc's catch-all logs when a request fails outside the API's own answers: the real routes' patterns."""
    assert router.logged_as("GET", "patients/MRN-4711") == "GET patients/(?P<patient_id>.+)"
    assert router.logged_as("POST", "studies/1.2.3.4711/manual") == "POST studies/(?P<uid>[^/]+)/manual"
    assert router.logged_as("GET", "no-such-route/MRN-4711") == "GET (no route)"


def test_a_write_whose_answer_cannot_be_sent_keeps_neither_its_change_nor_its_key(ctx, monkeypatch):  # noqa: F811
    def create(c, session, r):
        session.add(StandardExam(scheme="site", code="CT-NEW", name="CT new", modality="CT"))
        return {"exam": Dossier()}

    only_route(monkeypatch, "POST", "exams", create)
    response = call(ctx, "POST", "exams", {**JSON_WRITE, "Idempotency-Key": "k-1"}, b"{}")
    assert response.status == 500 and strict_loads(response.body) == {"error": "internal error, see Orthanc's log"}
    with ctx.sessions() as s:  # the answer is kept in the request's transaction: refusing it undid the write
        assert s.scalar(select(func.count()).select_from(StandardExam).where(StandardExam.code == "CT-NEW")) == 0
        assert s.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


def test_typed_values_in_an_answer_are_sent_as_before_and_kept_alike_for_a_repeat(ctx, monkeypatch, caplog):  # noqa: F811
    answer = {"events": [Event({"dap_Gycm2": 1.5, "kvp": math.nan, "target_region": "Chest"})],
              "day": dt.date(2026, 3, 1), "at": dt.datetime(2026, 3, 1, 8, 0, 5), "time": dt.time(8, 0, 5)}
    sent = {"events": [{"dap_Gycm2": 1.5, "kvp": None, "target_region": "Chest"}],  # an object, not its repr
            "day": "2026-03-01", "at": "2026-03-01 08:00:05", "time": "08:00:05"}  # str()'s text, with a space
    only_route(monkeypatch, "GET", "typed", lambda c, s, r: answer)
    with caplog.at_level(logging.WARNING, logger="kerma.api"):
        response = call(ctx, "GET", "typed")
    assert response.status == 200 and strict_loads(response.body) == sent
    assert "events[].kvp" in caplog.text  # the NaN inside the Event: null, and where it was logged
    only_route(monkeypatch, "POST", "typed", lambda c, s, r: answer)
    first, repeat = (call(ctx, "POST", "typed", {**JSON_WRITE, "Idempotency-Key": "k-2"}, b"{}") for _ in range(2))
    assert first.status == repeat.status == 200
    assert strict_loads(first.body) == strict_loads(repeat.body) == sent  # the stored answer: the same encoder


def test_an_export_cell_is_what_the_json_answer_sends_and_an_unknown_type_is_refused():
    text = export.to_csv([{"day": dt.date(2026, 3, 1), "event": Event({"kvp": 120.0}), "codes": ("A", "B"),
                           "n": 2, "ok": True, "none": None}])
    assert list(csv.reader(io.StringIO(text))) == [["day", "event", "codes", "n", "ok", "none"],
                                                    ["2026-03-01", '{"kvp": 120.0}', '["A", "B"]', "2", "True", ""]]
    with pytest.raises(jsonout.Unencodable, match="test_http.Dossier") as refused:
        export.to_csv([{"patient": Dossier()}])
    assert "DOE" not in str(refused.value)


def test_security_headers_on_every_kind_of_answer(ctx):  # noqa: F811
    answers = [call(ctx, "GET", "health"), call(ctx, "GET", "no/such/route"), call(ctx, "POST", "health", JSON_WRITE),
               call(ctx, "POST", "exams", {}, b"{}"), call(ctx, "POST", "exams", JSON_WRITE, b"[" * 100),
               call(ctx, "GET", "statistics", query={"quantity": "ctdivol_mGy", "format": "csv"}),
               call(ctx, "GET", "audit", roles=frozenset({"viewer"}))]
    assert [a.status for a in answers] == [200, 404, 405, 403, 400, 200, 403]
    for answer in answers:
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answers[5].content_type.startswith("text/csv") and answers[5].filename
    assert answers[2].allowed == ["GET"]


def test_the_ui_page_says_who_is_signed_in_without_inline_script():
    page = ui_page('al"ice<script>', frozenset({"radiologist"}))
    text = page.body.decode()
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["Cache-Control"] == "no-store" and page.content_type.startswith("text/html")
    assert "<script>" not in text.replace('<script type="module" src="app.js"></script>', "")  # no inline script
    assert " style=" not in text and "<style" not in text
    meta = text.split('<meta name="kerma-user" content="')[1].split('">')[0]
    assert json.loads(html.unescape(meta)) == {"user": 'al"ice<script>', "roles": ["radiologist"],
                                               "may": ["viewer", "radiographer", "radiologist"]}
