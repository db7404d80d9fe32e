"""Routing of /kerma/api/: requests in, (status, answer) out.  No Orthanc here; the edge translates.

Feature modules declare their handlers with :func:`route`; a handler gets the
:class:`Context`, a database session and the :class:`Request`, and returns a
JSON-able value or an :class:`Answer` (e.g. a CSV export).  Handlers of
methods other than GET run in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Context:
    """What handlers may use besides the request: the database and the ingest state."""

    sessions: sessionmaker
    orthanc_last_seq: Callable[[], int | None] = lambda: None
    worker_error: Callable[[], str | None] = lambda: None
    settings: Settings = field(default_factory=Settings.defaults)
    orthanc: Any = None  # Orthanc's REST API for corrections (kerma.reconcile.orthanc_sync.OrthancRest); None outside Orthanc


@dataclass
class Request:
    method: str
    path: str
    query: dict = field(default_factory=dict)
    body: Any = None  # parsed JSON
    user: str | None = None  # the Orthanc user who asked, for the audit trail
    match: re.Match | None = None

    def param(self, name: str) -> str:
        return self.match.group(name)


@dataclass
class Answer:
    """A non-JSON answer (CSV export)."""

    text: str
    content_type: str
    filename: str | None = None


Handler = Callable[[Context, Session, Request], Any]
ROUTES: list[tuple[str, re.Pattern, Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append((method, re.compile(pattern), handler))
        return handler

    return register


def handle(ctx: Context, request: Request) -> tuple[int, Any]:
    """Answer a request for ``/kerma/api/<request.path>``: (HTTP status, JSON value or Answer)."""
    path = request.path.strip("/")
    allowed = []
    for method, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if method != request.method:
            allowed.append(method)
            continue
        request.match = match
        try:
            with ctx.sessions() as session:
                if method == "GET":
                    return 200, handler(ctx, session, request)
                with session.begin():
                    return 200, handler(ctx, session, request)
        except ApiError as exc:
            return exc.status, {"error": str(exc)}
    if allowed:
        return 405, {"error": f"method {request.method} not allowed", "allowed": allowed}
    return 404, {"error": f"no such API route: /kerma/api/{path}"}


def int_param(query: dict, name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise ApiError(400, f"{name} must be between {low} and {high if high is not None else 'any'}")
    return value


def date_param(query: dict, name: str) -> dt.date | None:
    """The query parameter ``name`` as a date (YYYY-MM-DD), None when absent."""
    if not query.get(name):
        return None
    try:
        return dt.date.fromisoformat(query[name])
    except ValueError:
        raise ApiError(400, f"{name} must be a date as YYYY-MM-DD") from None
