"""REST: one patient's header and dose history (:mod:`kerma.patients`), as JSON or CSV, identified or protected.

A Patient ID may hold a slash ("123/45"): the routes take the rest of the path, the history's first.  Both carry
patient data: every call is a ``data.read`` audit entry (``data.export`` for a CSV file), with the
privacy the caller asked for.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from .. import clock
from ..access import VIEWER
from ..patients import history, windows
from .export import protection, rows_answer
from .names import with_names
from .router import ApiError, Context, Request, route
from .schemas import Day, Query, path_text, query

PARTS = ("studies", "windows", "modalities")  # what a CSV file of the history holds: one table each


class HistoryQuery(Query):
    window: str = windows.DEFAULT  # comma-separated: 12m, 5y, all (kerma.patients.windows)
    as_of: Day | None = None  # the day the windows end on; the site's today when absent
    part: Literal[PARTS] = "studies"


def _patient(session: Session, request: Request) -> tuple[str, list]:
    patient_id = path_text(request, "patient_id")
    studies = history.studies_of(session, patient_id)
    if not studies:
        raise ApiError(404, "no study of this Patient ID")
    return patient_id, studies


@route("GET", r"patients/(?P<patient_id>.+)/dose-history", role=VIEWER, personal=True)
def dose_history(ctx: Context, session: Session, request: Request):
    """Every study of the patient with its dose values and estimates, sums over the windows asked for (overall and
    per modality), and what a cumulative effective dose is and is not; ``format=csv`` gives the table ``part``."""
    q = query(request, HistoryQuery)
    as_of = q.as_of or clock.today()
    try:
        spans = windows.parse(q.window, as_of)
    except ValueError as exc:
        raise ApiError(400, f"window: {exc}") from None
    patient_id, studies = _patient(session, request)
    rows = with_names(session, history.timeline(session, studies))
    parts = {"studies": rows, "windows": [history.sums(rows, w) for w in spans],
             "modalities": history.by_modality(rows, spans)}
    privacy, guard = protection(ctx, request)
    extra = {"patient": guard(history.header(patient_id, studies, as_of).as_json()), "as_of": as_of.isoformat(),
             "statement": history.STATEMENT, "band": history.BAND, "summed": list(history.summed_quantities()),
             **{name: [{**guard(r), "privacy": privacy} for r in parts[name]] for name in PARTS if name != q.part}}
    return rows_answer(ctx, request, q.part, parts[q.part], extra)


@route("GET", r"patients/(?P<patient_id>.+)", role=VIEWER, personal=True)
def get_patient(ctx: Context, session: Session, request: Request) -> dict:
    """Who the patient is (name, sex, age, weight and height with their source and date) and how many studies."""
    patient_id, studies = _patient(session, request)
    privacy, guard = protection(ctx, request)
    return {"privacy": privacy, "patient": guard(history.header(patient_id, studies, clock.today()).as_json())}
