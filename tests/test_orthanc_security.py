"""Hostile web input through a real Orthanc: deep and huge bodies, cross-site writes (also from a page in
headless Chromium on another site), roles of two configured users, strict JSON and security headers."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from playwright.sync_api import expect

from corpus import CORPUS
from kerma.api import router
from support.orthanc import OrthancProcess, free_port, running_orthanc
from test_access import profile_service, sample_path  # noqa: F401  (profile_service is a fixture)
from test_orthanc_ingest import wait_until_ingested

REPORTS = ["openrem/CT-RDSR-Siemens-Continued-1.dcm", "openrem/RF-Pat-Orientation-Modifier-Missing.dcm"]  # the RF: a Ka,r alert
USERS = {"kerma": "kerma", "alice": "alice-pw", "bob": "bob-pw"}
ROLES = {"kerma": ["admin"], "alice": ["physicist"]}  # bob is not listed: the default role, viewer
JSON_WRITE = {"Content-Type": "application/json", "X-Requested-With": "kerma"}


def strict(response):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(response.content, parse_constant=refuse)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc-security"),
                         extra_config={"RegisteredUsers": USERS, "Kerma.Roles": ROLES}) as process:
        assert all(s == 0 for s in process.store([CORPUS / r for r in REPORTS]))
        wait_until_ingested(process)
        yield process


@pytest.fixture(scope="module")
def targets(orthanc):
    """What the issue's cross-site page changed: a recipient list, a DRL value, the rules, a study, an alert."""
    admin = orthanc.session()
    drl_set = next(s for s in admin.get(orthanc.url + "/kerma/api/drl/sets").json()["sets"] if s["kind"] == "national")
    value = admin.get(f"{orthanc.url}/kerma/api/drl/sets/{drl_set['id']}").json()["values"][0]
    study = admin.get(orthanc.url + "/kerma/api/studies").json()["studies"][0]["study_instance_uid"]
    alert = admin.get(orthanc.url + "/kerma/api/alerts").json()["alerts"][0]
    assert alert["status"] == "new"
    return {
        "recipient": ("POST", "notifications/recipients", {"role": "mpe", "email": "attacker@example.com"}),
        "drl value": ("PUT", f"drl/values/{value['id']}", {"value": 0.001}),
        "rule": ("POST", "mapping/rules", {"level": "exam", "standard_exam_id": 1,
                                            "conditions": [{"field": "modality", "op": "equals", "value": "CT"}]}),
        "reassign": ("POST", f"reconciliation/studies/{study}/reassign", {"patient_id": "ATTACKER"}),
        "acknowledge": ("POST", f"alerts/{alert['id']}/acknowledge", {"comment": "nothing to see"}),
    }


def state(orthanc, targets) -> dict:
    admin = orthanc.session()
    api = orthanc.url + "/kerma/api/"
    value_path = targets["drl value"][1]
    value_id = int(value_path.rsplit("/", 1)[1])
    sets = admin.get(api + "drl/sets").json()["sets"]
    values = [v for s in sets for v in admin.get(f"{api}drl/sets/{s['id']}").json()["values"] if v["id"] == value_id]
    study_uid = targets["reassign"][1].split("/")[2]
    changes = [e for e in admin.get(api + "audit", params={"limit": 500}).json()["entries"]
               if not e["action"].startswith("data.")]
    return {"recipients": admin.get(api + "notifications/recipients").json(), "drl value": values,
            "rules": admin.get(api + "mapping/rules").json(),
            "study": admin.get(api + "studies/" + study_uid).json()["patient"],
            "alerts": admin.get(api + "alerts").json()["alerts"], "changes": changes}


def test_deep_and_huge_bodies_are_refused_and_orthanc_keeps_answering(orthanc):
    admin = orthanc.session()
    for depth in (600, 10_000, 1_000_000):
        for method, path in [("POST", "exams"), ("POST", "mapping/rules"), ("PUT", "drl/values/1"),
                             ("POST", "alerts/rules"), ("POST", "mapping/preview")]:
            for body in (b"[" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
                answer = admin.request(method, f"{orthanc.url}/kerma/api/{path}", data=body, headers=JSON_WRITE)
                assert answer.status_code in (400, 413), (depth, path, answer.status_code)
                assert strict(answer)["error"].startswith("the request body")
            assert orthanc.process.poll() is None, orthanc.log_tail()
    # without the write headers a deep body is refused before it is even looked at
    assert admin.post(orthanc.url + "/kerma/api/exams", data=b"[" * 600,
                      headers={"Content-Type": "text/plain"}).status_code == 403
    assert admin.get(orthanc.url + "/system").status_code == 200
    assert admin.get(orthanc.url + "/kerma/api/health").json()["status"] == "ok"


@pytest.mark.parametrize("form, headers", [
    ("text/plain", {"Content-Type": "text/plain"}),
    ("form-encoded", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("no custom header", {"Content-Type": "application/json", "X-Requested-With": ""}),
    ("foreign Origin", {**JSON_WRITE, "Origin": "http://attacker.example"}),
    ("Sec-Fetch-Site cross-site", {**JSON_WRITE, "Sec-Fetch-Site": "cross-site"}),
])
def test_cross_site_writes_are_refused_and_change_nothing(orthanc, targets, form, headers):
    before = state(orthanc, targets)
    admin = orthanc.session()
    for name, (method, path, body) in targets.items():
        data = json.dumps(body) if "json" in headers["Content-Type"] or form == "text/plain" else "email=attacker%40example.com"
        answer = admin.request(method, f"{orthanc.url}/kerma/api/{path}", data=data, headers=headers)
        assert answer.status_code == 403, (form, name, answer.text)
        assert "error" in strict(answer)
    assert state(orthanc, targets) == before


def test_roles_of_two_configured_users(orthanc, targets):
    api = orthanc.url + "/kerma/api/"
    alice, bob = orthanc.session(("alice", USERS["alice"])), orthanc.session(("bob", USERS["bob"]))
    assert alice.get(api + "me").json() == {"user": "alice", "roles": ["physicist"],
                                            "may": ["viewer", "radiographer", "radiologist", "physicist"]}
    assert bob.get(api + "me").json() == {"user": "bob", "roles": ["viewer"], "may": ["viewer"]}
    before = state(orthanc, targets)
    for name, (method, path, body) in targets.items():
        refused = bob.request(method, api + path, json=body)
        assert refused.status_code == 403 and strict(refused)["role_needed"] != "viewer", (name, refused.text)
    for path in ("audit", "hl7/messages/1", "hl7/patients/P1", "notifications/recipients"):
        assert bob.get(api + path).status_code == 403, path
    assert state(orthanc, targets) == before
    assert bob.get(api + "studies").status_code == 200
    created = alice.post(api + "drl/sets", json={"name": "Local CT 2026", "kind": "local"})
    assert created.status_code == 200, created.text
    assert alice.post(api + "hl7/merges/1/undo", json={}).status_code == 403  # admin only
    assert alice.get(api + "audit").status_code == 403
    trail = orthanc.session().get(api + "audit", params={"actor": "bob", "action": "data.read"}).json()["entries"]
    assert [(e["target_id"], e["after"]["query"]) for e in trail] == [("studies", {})]  # one entry for the list
    assert orthanc.session().get(api + "audit", params={"actor": "alice", "action": "drl_set.create"}).json()["total"] == 1


def test_every_get_route_answers_strict_json_with_security_headers(orthanc):
    admin = orthanc.session()
    for entry in router.ROUTES:
        if entry.method != "GET":
            continue
        answer = admin.get(f"{orthanc.url}/kerma/api/{sample_path(entry.pattern)}")
        assert answer.status_code < 500, (entry.pattern.pattern, answer.text)
        if answer.headers.get("Content-Type", "").startswith("application/json"):
            strict(answer)
        assert answer.headers["X-Content-Type-Options"] == "nosniff", entry.pattern.pattern
        assert answer.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    refused = admin.post(orthanc.url + "/kerma/api/exams", data="x", headers={"Content-Type": "text/plain"})
    assert refused.status_code == 403 and refused.headers["Referrer-Policy"] == "no-referrer"


def test_the_ui_document_comes_from_kerma_with_its_headers(orthanc):
    admin = orthanc.session()
    for path in ("/kerma/ui/", "/kerma/ui", "/kerma/ui/index.html"):
        page = admin.get(orthanc.url + path)
        assert page.url == orthanc.url + "/kerma/ui/index.html"
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["Cache-Control"] == "no-store"
        assert '<meta name="kerma-user"' in page.text
    assert admin.get(orthanc.url + "/kerma/ui/app.js").status_code == 200  # the rest stays static (ServeFolders)
    assert requests.get(orthanc.url + "/kerma/ui/index.html").status_code == 401


# Pages of another site: two forms that navigate the window to Kerma (so the browser sends the credentials it
# holds for Kerma, as the attack did) and two scripted requests (sent without credentials, or not at all).
ATTACKER_PAGES = {
    "/plain": """<form method="POST" enctype="text/plain" action="{api}notifications/recipients">
  <input name='{{"role": "mpe", "email": "attacker@example.com", "x": "' value='"}}'></form>
<script>document.forms[0].submit();</script>""",
    "/urlencoded": """<form method="POST" action="{api}{acknowledge}"><input name="comment" value="forged"></form>
<script>document.forms[0].submit();</script>""",
    "/scripted": """<script>
  fetch("{api}mapping/rules", {{method: "POST", mode: "no-cors", credentials: "include",
        headers: {{"Content-Type": "text/plain"}}, body: '{{"level": "exam", "standard_exam_id": 1, "conditions": []}}'}})
    .finally(() => fetch("{api}drl/values/1", {{method: "PUT", credentials: "include",
        headers: {{"Content-Type": "application/json", "X-Requested-With": "kerma"}}, body: '{{"value": 0.001}}'}}))
    .catch(() => {{ document.title = "blocked"; }});
</script>""",
}


@pytest.fixture
def attacker_site(orthanc, targets):
    """Another site (http://localhost:PORT; Kerma is at http://127.0.0.1:PORT) serving ATTACKER_PAGES."""
    pages = {path: ("<!doctype html><html><body>" + page.format(
        api=orthanc.url + "/kerma/api/", acknowledge=targets["acknowledge"][1]) + "</body></html>").encode()
        for path, page in ATTACKER_PAGES.items()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(pages.get(self.path, b""))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_page_on_another_site_cannot_write_with_the_users_credentials(browser, orthanc, targets, attacker_site):
    before = state(orthanc, targets)
    context = browser.new_context()  # Chromium's own credential cache, as a signed-in user's browser has it
    page = context.new_page()
    answers = []
    page.on("response", lambda r: answers.append((r.request.method, r.url.split("/kerma/api/")[1], r.status))
            if "/kerma/api/" in r.url and r.request.method != "GET" else None)
    page.goto(orthanc.url.replace("http://", "http://kerma:kerma@") + "/kerma/ui/index.html")  # signed in to Kerma
    expect(page.locator("#user")).to_contain_text("kerma")
    for path, target in [("/plain", "notifications/recipients"), ("/urlencoded", targets["acknowledge"][1])]:
        with page.expect_navigation():
            page.goto(attacker_site + path)
        expect(page.locator("body")).to_contain_text("Content-Type: application/json")  # Kerma's refusal, shown
        assert [a for a in answers if a[1] == target][-1] == ("POST", target, 403), answers
    page.goto(attacker_site + "/scripted")
    expect(page).to_have_title("blocked")  # the PUT with Kerma's header needed a preflight, which Orthanc refuses
    assert ("PUT", "drl/values/1") not in {a[:2] for a in answers}
    assert [a for a in answers if a[1] == "mapping/rules"][-1][2] in (401, 403), answers  # no credentials, or refused
    assert not [a for a in answers if a[2] < 400], answers
    context.close()
    assert state(orthanc, targets) == before


def test_the_ui_works_under_its_policy_and_shows_what_each_role_may_do(browser, orthanc):
    shown = {}
    for user in ("alice", "bob"):
        context = browser.new_context(http_credentials={"username": user, "password": USERS[user]},
                                      viewport={"width": 1280, "height": 900})
        page = context.new_page()
        violations = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(orthanc.url + "/kerma/ui/#/mapping")
        expect(page.locator("h1")).to_have_text("Mapping")
        expect(page.locator("#user")).to_contain_text(user)
        shown[user] = page.locator("button.save").count()
        page.goto(orthanc.url + "/kerma/ui/#/alerts")
        page.locator("tr.link").first.click()
        expect(page.locator("dd.status")).to_be_visible()
        shown[user, "steps"] = page.locator("form.review button").count()
        assert violations == [], violations
        context.close()
    assert shown == {"alice": 1, "bob": 0, ("alice", "steps"): shown["alice", "steps"], ("bob", "steps"): 0}
    assert shown["alice", "steps"] >= 1


def test_a_token_of_the_authorization_plugin_names_the_user_through_orthanc(tmp_path, profile_service):
    url, asked = profile_service
    process = OrthancProcess(tmp_path, free_port(), free_port(), f"sqlite:///{tmp_path / 'kerma.sqlite'}",
                             extra_config={"Authorization": {"TokenHttpHeaders": ["token"]},
                                           "Kerma.UserProfileUrl": url, "Kerma.ProfileRoles": {"dose-team": "physicist"}})
    process.start()
    try:
        api = process.url + "/kerma/api/"
        session = process.session()
        assert session.get(api + "me").json()["roles"] == ["admin"]  # no token: the Basic user
        assert session.get(api + "me", headers={"token": "t-carol"}).json() == {
            "user": "carol", "roles": ["physicist"], "may": ["viewer", "radiographer", "radiologist", "physicist"]}
        created = session.post(api + "drl/sets", json={"name": "Carol's set", "kind": "local"}, headers={"token": "t-carol"})
        assert created.status_code == 200
        trail = session.get(api + "audit", params={"action": "drl_set.create"}).json()["entries"]
        assert [e["actor"] for e in trail] == ["carol"]
        refused = session.get(api + "studies", headers={"token": "stolen-or-made-up"})
        assert refused.status_code == 403 and strict(refused)["roles"] == []
        page = session.get(process.url + "/kerma/ui/index.html", headers={"token": "t-carol"})
        assert "carol" in page.text
        assert asked.count("t-carol") == 1  # asked once, then kept
    finally:
        process.stop()
