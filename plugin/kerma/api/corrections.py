"""REST: per-device correction factors (physicists; versioned, audited, each change recomputes the history it covers).

A change re-resolves, re-classifies and re-evaluates every study the factor covers before and after it, in the
request's transaction (as a mapping rule re-maps the history): its totals, its events' factors, its month's
statistics (marked stale) and its alerts follow at once (an alert the change brings under its threshold is closed
with the reason, one it puts above gets raised: :mod:`kerma.evaluate.settle`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..access import PHYSICIST, VIEWER
from ..correction_kinds import kinds
from ..evaluate.settle import settle
from ..corrections.coverage import covered_studies
from ..corrections.factors import factor_of
from ..db.models import CorrectionFactor, Device
from ..pipeline import after_store
from .names import with_names
from .router import ApiError, Context, Request, route
from .schemas import Body, Day, Id, Query, body, column_text, path_row, query, text

FIELDS = ("device_id", "kind", "factor", "valid_from", "valid_to", "measured_on", "method", "measured_by", "notes")
RECOMPUTE_CHUNK = 200  # studies re-resolved per round (each round loads its studies with their records)


def correction_json(row: CorrectionFactor) -> dict:
    out = {"id": row.id, **{k: getattr(row, k) for k in FIELDS}, "version": row.version,
           "created_by": row.created_by, "updated_by": row.updated_by,
           "updated_at": row.updated_at.isoformat() if row.updated_at else None}
    for name in ("valid_from", "valid_to", "measured_on"):
        out[name] = out[name].isoformat() if out[name] else None
    out["label"] = kinds()[row.kind].label
    return out


@route("GET", r"corrections/kinds", role=VIEWER)
def list_kinds(ctx: Context, session: Session, request: Request):
    """The kinds of factor, what each multiplies and why it exists."""
    return {"kinds": [k.as_json() for k in kinds().values()]}


class CorrectionQuery(Query):
    device_id: Id | None = None


@route("GET", r"corrections", role=VIEWER)
def list_corrections(ctx: Context, session: Session, request: Request):
    q = query(request, CorrectionQuery)
    stmt = select(CorrectionFactor).order_by(CorrectionFactor.device_id, CorrectionFactor.kind,
                                             CorrectionFactor.valid_from, CorrectionFactor.id)
    if q.device_id is not None:
        stmt = stmt.where(CorrectionFactor.device_id == q.device_id)
    return {"corrections": with_names(session, [correction_json(r) for r in session.scalars(stmt)])}


@route("GET", r"corrections/(?P<id>\d+)", role=VIEWER)
def get_correction(ctx: Context, session: Session, request: Request):
    """The factor and its versions: every change with before and after, newest first."""
    row = path_row(session, request, CorrectionFactor, "correction factor")
    history = session.scalars(audit.query(target_type="correction_factor", target_id=str(row.id)))
    return {**with_names(session, [correction_json(row)])[0],
            "history": [{k: v for k, v in audit.as_json(e).items() if k not in ("target_type", "target_id")}
                        for e in history]}


class CorrectionBody(Body):
    device_id: Id
    kind: Literal[tuple(kinds())]
    factor: Annotated[float, Field(gt=0)]
    valid_from: Day | None = None
    valid_to: Day | None = None
    measured_on: Day
    method: text(nonempty=True)
    measured_by: column_text(CorrectionFactor.measured_by, nonempty=True)
    notes: text() | None = None


@route("POST", r"corrections", role=PHYSICIST)
def create_correction(ctx: Context, session: Session, request: Request):
    row = CorrectionFactor(**_checked(session, body(request, CorrectionBody)), version=1, created_by=request.user,
                           updated_by=request.user)
    session.add(row)
    session.flush()
    audit.record(session, request.user, "correction_factor.create", "correction_factor", row.id, after=correction_json(row))
    return {"correction": with_names(session, [correction_json(row)])[0],
            **_recompute(session, row, _cause(row), request.user)}


@route("PUT", r"corrections/(?P<id>\d+)", role=PHYSICIST)
def update_correction(ctx: Context, session: Session, request: Request):
    row = path_row(session, request, CorrectionFactor, "correction factor")
    before = correction_json(row)
    covered_before = covered_studies(session, factor_of(row))
    for name, value in _checked(session, body(request, CorrectionBody, {k: before[k] for k in FIELDS}), row.id).items():
        setattr(row, name, value)
    row.version += 1
    row.updated_by = request.user
    session.flush()
    audit.record(session, request.user, "correction_factor.update", "correction_factor", row.id, before=before,
                 after=correction_json(row))
    return {"correction": with_names(session, [correction_json(row)])[0],
            **_recompute(session, row, _cause(row), request.user, covered_before)}


@route("DELETE", r"corrections/(?P<id>\d+)", role=PHYSICIST)
def delete_correction(ctx: Context, session: Session, request: Request):
    row = path_row(session, request, CorrectionFactor, "correction factor")
    before = correction_json(row)
    covered = covered_studies(session, factor_of(row))
    session.delete(row)
    session.flush()
    audit.record(session, request.user, "correction_factor.delete", "correction_factor", before["id"], before=before)
    return {"deleted": before["id"], **_refresh(session, covered, f"{_cause(before)} was removed", request.user)}


def _checked(session: Session, new: CorrectionBody, own_id: int | None = None) -> dict:
    kind = kinds()[new.kind]
    if not kind.low <= new.factor <= kind.high:
        raise ApiError(400, f"factor: a {kind.label} must be between {kind.low:g} and {kind.high:g}")
    if None not in (new.valid_from, new.valid_to) and new.valid_from > new.valid_to:
        raise ApiError(400, "valid_from: must not be after valid_to")
    if session.get(Device, new.device_id) is None:
        raise ApiError(400, "device_id names no device")
    for other in session.scalars(select(CorrectionFactor).where(
            CorrectionFactor.device_id == new.device_id, CorrectionFactor.kind == new.kind, CorrectionFactor.id != (own_id or 0))):
        if _overlap((new.valid_from, new.valid_to), (other.valid_from, other.valid_to)):
            raise ApiError(409, f"the device's {kind.label} {other.id} already covers part of these dates "
                                f"({other.valid_from or 'open'} to {other.valid_to or 'open'})", conflict_id=other.id)
    return new.model_dump()


def _overlap(a: tuple, b: tuple) -> bool:
    """Whether two inclusive date ranges (None: open) share a day."""
    return (a[0] is None or b[1] is None or a[0] <= b[1]) and (b[0] is None or a[1] is None or b[0] <= a[1])


def _cause(row: CorrectionFactor | dict) -> str:
    """The change as an alert's comment names it: ``correction factor #3 (DAP calibration factor ×0.9, version 2)``."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return f"correction factor #{get('id')} ({kinds()[get('kind')].label} ×{get('factor'):g}, version {get('version')})"


def _recompute(session: Session, row: CorrectionFactor, cause: str, actor: str | None, also: set[int] = frozenset()) -> dict:
    return _refresh(session, covered_studies(session, factor_of(row)) | set(also), cause, actor)


def _refresh(session: Session, study_ids: set[int], cause: str, actor: str | None) -> dict:
    """Resolve, classify and evaluate the studies again (their month statistics are marked stale on the way), and
    settle the alerts the change moved across their thresholds; how many studies, and what became of the alerts."""
    ordered = sorted(study_ids)
    alerts = {"raised": 0, "closed": 0, "commented": 0, "reopened": 0}
    for start in range(0, len(ordered), RECOMPUTE_CHUNK):
        batch = after_store(session, set(ordered[start:start + RECOMPUTE_CHUNK]))
        if batch is not None:
            alerts["raised"] += len(batch.evaluation.raised)
            for name, count in settle(session, batch.evaluation, cause, actor).items():
                alerts[name] += count
        session.flush()
    return {"recomputed_studies": len(ordered), "alerts": alerts}
