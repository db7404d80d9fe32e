"""A study's derived doses in its answer (``GET studies/{uid}``), and the skin dose map image of one of them.

The rows are :mod:`kerma.derived`'s (method, inputs, coefficients with their citations, uncertainty and its band,
or ``not_estimated`` with the reason); a skin-dose row with a map names the route of its PNG in ``map_png``.
"""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import VIEWER
from ..db.models import DerivedDose, Study
from ..derived import derived_doses, skin_map_png
from ..derived.reader import EFFECTIVE_DOSE, SKIN_DOSE, SSDE
from .router import Answer, ApiError, Context, Request, route
from .schemas import path_id, path_text


def study_derived(session: Session, study: Study) -> dict:
    """The study's derived doses, the state of their computation and, per skin-dose map, the path of its image."""
    found = derived_doses(session, [study.id]).get(study.id) or {EFFECTIVE_DOSE: None, SSDE: [], SKIN_DOSE: []}
    uid = quote(study.study_instance_uid, safe="")
    for row in found[SKIN_DOSE]:
        row["map_png"] = f"studies/{uid}/skin-dose/{row['id']}" if row.get("has_map") else None
    state = "pending" if study.dosimetry_due or study.dosimetry_inputs_sha256 is None else "current"
    return {**found, "state": state}


@route("GET", r"studies/(?P<uid>[^/]+)/skin-dose/(?P<id>\d+)", role=VIEWER, personal=True)
def skin_map(ctx: Context, session: Session, request: Request):
    """The skin dose map of one of the study's fluoroscopy reports (PNG)."""
    study_id = session.scalar(select(Study.id).where(Study.study_instance_uid == path_text(request, "uid")))
    derived_id = path_id(request)
    owner = session.scalar(select(DerivedDose.study_id).where(DerivedDose.id == derived_id))
    png = skin_map_png(session, derived_id) if study_id is not None and owner == study_id else None
    if png is None:
        raise ApiError(404, "no skin dose map with this id for this study")
    return Answer(png, "image/png")
