"""Routing of /kerma/api/: requests in, (status, answer) out.  No Orthanc here; the edge translates.

Feature modules declare their handlers with :func:`route`, each with the least role that may call it
(:mod:`kerma.access`) and whether its answers carry patient data; a handler gets the :class:`Context`, a
database session and the :class:`Request`, and returns a JSON-able value or an :class:`Answer` (e.g. a CSV
export).  Every handler runs in one transaction, with the audit entry of a read of patient data or of an export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker

from .. import access, audit
from ..config import Settings
from . import idempotency


class ApiError(Exception):
    """An answer other than 200: its status, the ``error`` text, and any fields the client needs to act on it."""

    def __init__(self, status: int, message: str, **details: Any):
        super().__init__(message)
        self.status = status
        self.details = details


@dataclass
class Context:
    """What handlers may use besides the request: the database and the ingest state."""

    sessions: sessionmaker
    orthanc_last_seq: Callable[[], int | None] = lambda: None
    worker_error: Callable[[], str | None] = lambda: None
    settings: Settings = field(default_factory=Settings.defaults)
    orthanc: Any = None  # Orthanc's REST API for corrections (kerma.reconcile.orthanc_sync.OrthancRest); None outside Orthanc
    hl7_state: Callable[[], dict] = lambda: {"state": "disabled"}  # the HL7 listener (kerma.supervisor.ListenerSupervisor)
    mpps_state: Callable[[], dict] = lambda: {"state": "disabled"}  # the MPPS listener, likewise
    ocr_state: Callable[[], dict] = lambda: {"state": "not running"}  # the OCR thread and process (kerma.ingest.screens)
    dosimetry_state: Callable[[], dict] = lambda: {"state": "not running"}  # kerma.ingest.dosimetry
    statistics_state: Callable[[], dict] = lambda: {"state": "not running"}  # the month statistics (kerma.stats.refresher)


@dataclass
class Request:
    method: str
    path: str
    query: dict = field(default_factory=dict)
    body: Any = None  # parsed JSON
    user: str | None = None  # the Orthanc user who asked, for the audit trail
    roles: frozenset[str] = frozenset({access.VIEWER})  # what the user may do (kerma.access)
    idempotency_key: str | None = None  # a POST's Idempotency-Key header (kerma.api.idempotency)
    match: re.Match | None = None

    def param(self, name: str) -> str:
        return self.match.group(name)


@dataclass
class Answer:
    """A non-JSON answer (CSV export)."""

    text: str
    content_type: str
    filename: str | None = None
    privacy: str | None = None  # an export's: identified, pseudonymised or anonymised (kerma.privacy)


Handler = Callable[[Context, Session, Request], Any]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: Handler
    role: str  # the least role that may call it (kerma.access.ROLES)
    personal: bool  # its answers carry patient data: each read is audited


ROUTES: list[Route] = []


def route(method: str, pattern: str, *, role: str, personal: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler for ``method`` and the path ``pattern`` (a full match below /kerma/api/).

    ``role`` is the least role allowed to call it; ``personal`` says its answers carry patient data, so each
    call is recorded in the audit trail (one entry per request).  A handler may be registered more than once.
    """
    if role not in access.ROLES:
        raise ValueError(f"unknown role {role!r}")

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, re.compile(pattern), handler, role, personal))
        return handler

    return register


def route_for(method: str, path: str) -> Route | None:
    """The route for ``method`` and ``path``, None when there is none."""
    return next((r for r in ROUTES if r.method == method and r.pattern.fullmatch(path.strip("/"))), None)


def role_needed(method: str, path: str) -> str | None:
    """The role the route for ``method`` and ``path`` needs (None: no such route); the UI shows what a user may do."""
    route = route_for(method, path)
    return route.role if route else None


def logged_as(method: str, path: str) -> str:
    """A request as a log names it: its method and its route's pattern, never the path (``patients/{patient_id}``
    holds a patient id)."""
    route = route_for(method, path)
    return f"{method} {route.pattern.pattern if route else '(no route)'}"


def handle(ctx: Context, request: Request) -> tuple[int, Any]:
    """Answer a request for ``/kerma/api/<request.path>``: (HTTP status, JSON value or Answer)."""
    path = request.path.strip("/")
    allowed = []
    for entry in ROUTES:
        match = entry.pattern.fullmatch(path)
        if match is None:
            continue
        if entry.method != request.method:
            allowed.append(entry.method)
            continue
        if not access.allows(request.roles, entry.role):
            return 403, {"error": f"this needs the role {entry.role} (or a higher one)", "role_needed": entry.role,
                         "roles": sorted(request.roles)}
        request.match = match
        key = request.idempotency_key if request.method == "POST" else None
        once = idempotency.fingerprint(request.method, path, request.body) if key else None
        try:
            with ctx.sessions() as session, session.begin():
                claimed = idempotency.claim(session, request.user, key, once) if key else None
                answer = entry.handler(ctx, session, request)
                if isinstance(answer, Answer) or entry.personal:
                    _audit_read(session, request, path, answer)
                if claimed is not None:
                    idempotency.keep(claimed, answer)
                return 200, answer
        except ApiError as exc:
            return exc.status, {"error": str(exc), **exc.details}
        except idempotency.Taken:
            return idempotency.first_answer(ctx.sessions, request.user, key, once)
    if allowed:
        return 405, {"error": f"method {request.method} not allowed", "allowed": allowed}
    return 404, {"error": f"no such API route: /kerma/api/{path}"}


def _audit_read(session: Session, request: Request, path: str, answer: Any) -> None:
    """One audit entry for a read of patient data or an export (a file), in the request's transaction; an
    export's entry says how it was protected (``privacy``)."""
    export = isinstance(answer, Answer)
    privacy = answer.privacy if export else answer.get("privacy") if isinstance(answer, dict) else None
    audit.record(session, request.user, "data.export" if export else "data.read", "api", path,
                 after={"method": request.method, "query": request.query, **({"privacy": privacy} if privacy else {})})
