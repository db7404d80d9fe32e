"""Names beside ids in answers: a person reads "CT Head (site)" and "CT_ROOM_1", never "exam 12" or "device 3".

Answers that carry ``standard_exam_id`` or ``device_id`` get ``standard_exam`` and ``device_name`` beside them,
looked up once per answer (one query per kind of id), so no screen needs a lookup call per row.
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Device, StandardExam
from ..db.names import device_label


def exam_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(StandardExam.id, StandardExam.name).where(StandardExam.id.in_(wanted))).all())


def device_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {d.id: device_label(d) for d in session.scalars(select(Device).where(Device.id.in_(wanted)))}


def with_names(session: Session, rows: list[dict]) -> list[dict]:
    """``rows`` with ``standard_exam`` beside each ``standard_exam_id`` and ``device_name`` beside each ``device_id``
    (changed in place, and returned); a name already there is kept."""
    exams = exam_names(session, (r.get("standard_exam_id") for r in rows))
    devices = device_names(session, (r.get("device_id") for r in rows))
    for row in rows:
        if "standard_exam_id" in row and row.get("standard_exam") is None:
            row["standard_exam"] = exams.get(row["standard_exam_id"])
        if "device_id" in row and row.get("device_name") is None:
            row["device_name"] = devices.get(row["device_id"])
    return rows
