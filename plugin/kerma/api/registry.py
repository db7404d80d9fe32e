"""REST: the log of de-identified dose reports sent to the dose registry (``registry_submission``, IHE REM)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import PHYSICIST
from ..db.models import RegistrySubmission
from .his import page
from .router import Context, Request, route
from .schemas import Order, Page, choices, query, sort_field
from .views import iso

STATUSES = ("pending", "sent", "failed")
SORTS = {"created_at": RegistrySubmission.created_at, "status": RegistrySubmission.status,
         "attempts": RegistrySubmission.attempts, "sent_at": RegistrySubmission.sent_at}


class SubmissionQuery(Page):
    status: choices(STATUSES) = ()
    sort: sort_field(SORTS) = "created_at"
    order: Order = "desc"


def submission_json(submission: RegistrySubmission) -> dict:
    return {"id": submission.id, "registry": submission.modality, "dose_object_id": submission.dose_object_id,
            "sop_instance_uid": submission.dose_object.sop_instance_uid, "status": submission.status, "attempts": submission.attempts,
            "last_error": submission.last_error, "created_at": iso(submission.created_at),
            "sent_at": iso(submission.sent_at), "sent_sop_instance_uid": submission.sent_sop_instance_uid,
            "deidentification_method": submission.method}


@route("GET", r"registry/submissions", role=PHYSICIST, personal=True)
def list_submissions(ctx: Context, session: Session, request: Request):
    """What went to the registry, when, as what (it links a report to its de-identified copy: audited)."""
    q = query(request, SubmissionQuery)
    stmt = select(RegistrySubmission)
    if q.status:
        stmt = stmt.where(RegistrySubmission.status.in_(q.status))
    return page(session, stmt, q, "submissions", submission_json, SORTS, RegistrySubmission.id)
