"""/kerma/api/backfill...: back-fill jobs from a remote PACS (kerma.backfill): start, follow, pause, resume, cancel.

Starting and steering a job is the administrator's (it copies a PACS's objects into this Orthanc); the physicist
may follow them.  Answers hold counts, dates and the modality's name, no patient data.  Every start, pause, resume
and cancel is in the audit trail.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..access import ADMIN, PHYSICIST
from ..backfill import jobs
from ..backfill.models import BackfillJob
from ..backfill.selection import Options
from .his import page
from .router import ApiError, Context, Request, route
from .schemas import Body, Day, Page, body, column_text, path_row, query

MAX_DAYS = 3660  # ten years: a longer range is a mistake, and each day is one C-FIND
ModalityCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,16}$")]  # a DICOM Modality (CS): CT, DX, SR...


class BackfillBody(Body):
    modality: column_text(BackfillJob.remote_modality, nonempty=True)  # its name in Orthanc's DicomModalities
    date_from: Day
    date_to: Day
    rdsr: bool = True
    dose_screens: bool = True
    header_images: list[ModalityCode] = []  # one image per series of these modalities, for its header's values
    modalities: list[ModalityCode] = []  # only studies with one of these modalities (empty: every study)


@route("POST", r"backfill", role=ADMIN)
def start(ctx: Context, session: Session, request: Request) -> dict:
    """Queue a back-fill of ``date_from``–``date_to`` from ``modality``; the runner starts it within seconds."""
    wanted = body(request, BackfillBody)
    if wanted.date_to < wanted.date_from:
        raise ApiError(400, "date_to: before date_from")
    if (wanted.date_to - wanted.date_from).days >= MAX_DAYS:
        raise ApiError(400, f"date_to: the range is longer than {MAX_DAYS} days")
    if ctx.orthanc is not None:
        known = ctx.orthanc.get("/modalities")
        if wanted.modality not in known:
            raise ApiError(400, f"modality: not one of Orthanc's DicomModalities ({', '.join(sorted(known)) or 'none'})")
    options = Options(rdsr=wanted.rdsr, dose_screens=wanted.dose_screens, header_images=tuple(wanted.header_images),
                      modalities=tuple(wanted.modalities))
    if not (options.rdsr or options.dose_screens or options.header_images):
        raise ApiError(400, "nothing to fetch: rdsr, dose_screens and header_images are all off")
    job = jobs.create(session, wanted.modality, wanted.date_from, wanted.date_to, options, request.user)
    answer = jobs.view(session, job)
    audit.record(session, request.user, "backfill.start", "backfill_job", job.id,
                 after={k: answer[k] for k in ("modality", "date_from", "date_to", "options", "state")})
    return answer


@route("GET", r"backfill", role=PHYSICIST)
def list_jobs(ctx: Context, session: Session, request: Request) -> dict:
    return page(session, select(BackfillJob).order_by(BackfillJob.id.desc()), query(request, Page), "jobs",
                lambda job: jobs.view(session, job))


@route("GET", r"backfill/(?P<id>\d+)", role=PHYSICIST)
def get_job(ctx: Context, session: Session, request: Request) -> dict:
    return jobs.view(session, path_row(session, request, BackfillJob, "back-fill job"))


@route("POST", r"backfill/(?P<id>\d+)/(?P<action>pause|resume|cancel)", role=ADMIN)
def steer(ctx: Context, session: Session, request: Request) -> dict:
    """Pause (after the operation under way), resume (from where it was) or cancel a job."""
    job = path_row(session, request, BackfillJob, "back-fill job")
    action = request.param("action")
    try:
        before, after = jobs.act(session, job, action)
    except jobs.NotAllowed as exc:
        raise ApiError(409, str(exc)) from None
    audit.record(session, request.user, f"backfill.{action}", "backfill_job", job.id, before={"state": before},
                 after={"state": after})
    return jobs.view(session, job)
