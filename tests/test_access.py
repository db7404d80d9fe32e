"""Roles: every route declares the least role it needs, and handle() enforces it (pure, over the router's table)."""

import json
import re

import pytest
from sqlalchemy import func, select

from kerma import access
from kerma.api import Context, Request, handle, router
from kerma.auth_profile import UserProfiles
from kerma.config import Settings
from kerma.db.models import AuditEntry, Base
from kerma.drl.sets import load_table
from kerma.ingest.store import Processed, store_batch
from records_factory import ct_study

WRITE_METHODS = {"POST", "PUT", "DELETE", "PATCH"}


def sample_path(pattern: re.Pattern) -> str:
    """A path the route's pattern matches: each named group filled with the first sample value that fits."""
    text = pattern.pattern
    for name, group in re.findall(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)", text):
        choices = ["1", "1.2.3", "P-1"] + group.split("|")
        value = next(c for c in choices if re.fullmatch(group, c))
        text = text.replace(f"(?P<{name}>{group})", value, 1)
    path = text.replace("\\", "")
    assert pattern.fullmatch(path), (pattern.pattern, path)
    return path


def as_role(method, path, role, body=None, query=None):
    return Request(method, path, query or {}, body, user=f"a-{role}", roles=frozenset({role}))


@pytest.fixture
def ctx(sessions):
    records = [ct_study(f"2026-03-0{i + 1}", "CT-A", "Abdomen", [10.0 + i], [400.0 + 50 * i]) for i in range(3)]
    with sessions() as s, s.begin():
        store_batch(s, [Processed(i + 1, f"id-{i}", r) for i, r in enumerate(records)], last_seq=3)
        load_table(s)
    return Context(sessions)


def snapshot(sessions) -> dict:
    """Every row of every table (what a refused request must leave as it was)."""
    with sessions() as s:
        return {t.name: sorted(map(repr, s.execute(select(t)).all())) for t in Base.metadata.sorted_tables}


def test_every_write_route_needs_more_than_viewer():
    writes = [r for r in router.ROUTES if r.method in WRITE_METHODS]
    assert len(writes) >= 25  # the table is the registered one, not an empty list
    assert [f"{r.method} {r.pattern.pattern}" for r in writes if r.role == access.VIEWER] == []


def test_a_viewer_is_refused_on_every_write_route_and_nothing_changes(ctx):
    before = snapshot(ctx.sessions)
    for entry in router.ROUTES:
        if entry.method not in WRITE_METHODS:
            continue
        status, answer = handle(ctx, as_role(entry.method, sample_path(entry.pattern), access.VIEWER,
                                             body={"name": "x", "text": "y", "note": "z"}))
        assert status == 403, (entry.method, entry.pattern.pattern, status, answer)
        assert answer["role_needed"] == entry.role and answer["roles"] == ["viewer"]
    assert snapshot(ctx.sessions) == before


def test_each_role_passes_exactly_the_routes_at_or_below_it(ctx, monkeypatch):
    reached = []
    stubbed = [router.Route(r.method, r.pattern, lambda c, s, req: reached.append(req.path) or {"ok": True},
                            r.role, r.personal) for r in router.ROUTES]
    monkeypatch.setattr(router, "ROUTES", stubbed)
    for entry in stubbed:
        path = sample_path(entry.pattern)
        for role in access.ROLES:
            status, answer = handle(ctx, as_role(entry.method, path, role))
            if access.ROLES.index(role) >= access.ROLES.index(entry.role):
                assert status == 200 and answer == {"ok": True}, (role, entry.method, path)
            else:
                assert status == 403 and answer["role_needed"] == entry.role, (role, entry.method, path)
    assert len(reached) == sum(len(access.ROLES) - access.ROLES.index(r.role) for r in stubbed)


@pytest.mark.parametrize("method, path, role", [
    ("GET", "hl7/patients/P-1", access.ADMIN),
    ("GET", "hl7/messages/1", access.ADMIN),
    ("GET", "audit", access.ADMIN),
    ("POST", "hl7/merges/1/undo", access.ADMIN),
    ("POST", "drl/sets", access.PHYSICIST),
    ("PUT", "drl/values/1", access.PHYSICIST),
    ("POST", "mapping/rules", access.PHYSICIST),
    ("POST", "alerts/rules", access.PHYSICIST),
    ("POST", "notifications/recipients", access.PHYSICIST),
    ("POST", "alerts/1/close", access.RADIOLOGIST),
    ("POST", "alerts/1/justify", access.RADIOLOGIST),
    ("POST", "alerts/1/acknowledge", access.RADIOGRAPHER),
    ("POST", "reconciliation/studies/1.2.3/reassign", access.RADIOGRAPHER),
    ("GET", "studies", access.VIEWER),
    ("GET", "me", access.VIEWER),
])
def test_the_declared_policy(method, path, role):
    matching = [r for r in router.ROUTES if r.method == method and r.pattern.fullmatch(path)]
    assert [r.role for r in matching] == [role]


def test_me_says_who_asks_and_what_they_may_do(ctx):
    status, me = handle(ctx, Request("GET", "me", user="alice", roles=frozenset({"radiologist"})))
    assert status == 200
    assert me == {"user": "alice", "roles": ["radiologist"], "may": ["viewer", "radiographer", "radiologist"]}
    assert handle(ctx, Request("GET", "me", user="nobody", roles=frozenset()))[0] == 403


def test_reads_of_patient_data_and_exports_are_audited_once_per_request(ctx):
    def entries():
        with ctx.sessions() as s:
            return s.scalars(select(AuditEntry).where(AuditEntry.action.startswith("data."))
                             .order_by(AuditEntry.id)).all()

    assert handle(ctx, Request("GET", "studies", {"limit": "50"}, user="alice"))[0] == 200  # 3 studies, one entry
    uid = handle(ctx, Request("GET", "studies", {}, user="bob"))[1]["studies"][0]["study_instance_uid"]
    assert handle(ctx, Request("GET", f"studies/{uid}", user="alice"))[0] == 200
    assert handle(ctx, Request("GET", "statistics", {"quantity": "ctdivol_mGy", "format": "csv"}, user="carol"))[0] == 200
    assert handle(ctx, Request("GET", "health", user="alice"))[0] == 200  # no patient data: not audited
    assert handle(ctx, Request("GET", "studies/9.9.9", user="alice"))[0] == 404  # nothing read: not audited
    seen = [(e.actor, e.action, e.target_id, e.after["query"]) for e in entries()]
    assert seen == [("alice", "data.read", "studies", {"limit": "50"}), ("bob", "data.read", "studies", {}),
                    ("alice", "data.read", f"studies/{uid}", {}),
                    ("carol", "data.export", "statistics", {"quantity": "ctdivol_mGy", "format": "csv"})]


def test_roles_come_from_the_configuration():
    settings = Settings.from_orthanc({"Kerma": {"Roles": {"alice": ["MPE"], "bob": "radiographer", "eve": []}}})
    assert access.roles_of("alice", settings.roles, settings.default_role) == {"physicist"}
    assert access.roles_of("bob", settings.roles, settings.default_role) == {"radiographer"}
    assert access.roles_of("eve", settings.roles, settings.default_role) == frozenset()  # listed without a role
    assert access.roles_of("mallory", settings.roles, settings.default_role) == {"viewer"}  # the safe default
    assert access.roles_of(None, settings.roles, settings.default_role) == {"viewer"}
    closed = Settings.from_orthanc({"Kerma": {"DefaultRole": "none"}})
    assert access.roles_of("mallory", closed.roles, closed.default_role) == frozenset()
    with pytest.raises(ValueError, match="unknown Kerma role 'root'"):
        Settings.from_orthanc({"Kerma": {"Roles": {"alice": ["root"]}}})
    with pytest.raises(ValueError):
        Settings.from_orthanc({"Kerma": {"DefaultRole": "superuser"}})


@pytest.fixture
def profile_service():
    """A stand-in for the authorization service: a profile for token t-carol, 401 for any other."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.headers.get("token"))
            known = self.headers.get("token") == "t-carol"
            body = json.dumps({"name": "carol", "groups": ["dose-team"], "permissions": ["view"]}).encode()
            self.send_response(200 if known else 401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body if known else b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/auth/user/profile", asked
    server.shutdown()
    server.server_close()


def test_a_token_is_the_user_of_its_profile(profile_service):
    url, asked = profile_service
    now = [0.0]
    profiles = UserProfiles(url, ("Token",), ttl_s=60, clock=lambda: now[0])
    settings = Settings.from_orthanc({"HttpPort": 8042, "Authorization": {"TokenHttpHeaders": ["token"]},
                                      "Kerma": {"ProfileRoles": {"dose-team": "mpe"}, "Roles": {"dave": ["admin"]}}})
    assert settings.user_profile_url == "http://127.0.0.1:8042/auth/user/profile" and settings.token_headers == ("token",)

    def who(headers):
        return access.identify("kerma", profiles.profile(headers), settings.roles, settings.profile_roles,
                               settings.default_role)

    assert who({"Authorization": "Basic a2VybWE6a2VybWE="}) == ("kerma", {"viewer"})  # no token: the Basic user
    assert who({"token": "t-carol"}) == ("carol", {"physicist"})  # the profile's group, through ProfileRoles
    assert who({"Token": "t-carol"}) == ("carol", {"physicist"}) and asked == ["t-carol"]  # cached a minute
    now[0] = 61.0
    assert who({"token": "t-carol"}) == ("carol", {"physicist"}) and asked == ["t-carol", "t-carol"]
    assert who({"token": "made-up"}) == (None, frozenset())  # the service does not know it: no role at all
    assert access.identify(None, {"name": "dave", "groups": ["dose-team"]}, settings.roles, settings.profile_roles,
                           settings.default_role) == ("dave", {"admin"})  # Roles names the user first
    assert access.identify(None, {"name": "erin"}, settings.roles, settings.profile_roles, "viewer") == ("erin", {"viewer"})
    unreachable = UserProfiles("http://127.0.0.1:9/none", ("token",), timeout_s=1)
    assert unreachable.profile({"token": "t-carol"}) == {}
