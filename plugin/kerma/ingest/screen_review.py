"""A person confirms or corrects a value read from a dose screen that needed review; then it counts.

A value that failed a cross-check or was read with low confidence is not in its record's fields (so not in
statistics or alerts) but in ``ocr.review``.  :func:`resolve` writes the value a person gives (the one read:
*confirmed*; another: *corrected*) into the event or the totals, recomputes the record's totals, audits the change
(who, the value read, the value written, why) and marks the study for the ingest worker to resolve and evaluate
again.  When no value of the screen is left to review its state becomes ``recorded``.
"""

from __future__ import annotations

import math

from sqlalchemy.orm import Session

from .. import audit, clock
from ..db.models import EVENT_FIELDS, DoseObject
from ..db.records import event as event_record
from ..db.states import mark_refresh_due
from ..extract import plausible
from ..extract.ocr.record import screen_totals
from .screens import NEEDS_REVIEW, RECORDED

COUNTS = ("derived_from_events", "event_count", "ct_event_count")


class ReviewError(Exception):
    """The value cannot be written (the item was resolved already, a number is not plausible...)."""


def open_items(obj: DoseObject) -> list[dict]:
    return [item for item in (obj.ocr or {}).get("review") or [] if not item.get("resolution")]


def resolve(session: Session, obj: DoseObject, item_id: int, value: float | str, actor: str | None,
            note: str | None = None) -> dict:
    """Confirm (``value`` is what was read) or correct a value of ``obj`` needing review; returns the item.

    Raises
    ------
    LookupError
        No such item on this screen.
    ReviewError
        The item was resolved already, or ``value`` is not a value its field can hold.
    """
    review = [dict(item) for item in (obj.ocr or {}).get("review") or []]
    item = next((i for i in review if i.get("id") == item_id), None)
    if item is None:
        raise LookupError(f"no value {item_id} to review on this dose screen")
    if item.get("resolution"):
        raise ReviewError(f"value {item_id} was {item['resolution']} already by {item.get('by')}")
    value = _checked(item, value)
    action = "confirm" if value == item["value"] else "correct"
    _write(obj, item, value)
    item.update(resolution=f"{action}ed", confirmed_value=value, by=actor, at=clock.now().isoformat())
    remaining = [i for i in review if not i.get("resolution")]
    obj.ocr = {**obj.ocr, "review": review}  # a new dict: the JSON column is written
    if not remaining and obj.ocr_state == NEEDS_REVIEW:
        obj.ocr_state = RECORDED
    obj.warnings = [w for w in obj.warnings or [] if not w.endswith("need review")] + (
        [f"{len(remaining)} value(s) need review"] if remaining else []) or None
    audit.record(session, actor, f"dose_screen.{action}", "dose_object", obj.sop_instance_uid,
                 before={"event": item["event"], "field": item["field"], "read": item["value"], "text": item["text"],
                         "confidence": item["confidence"], "reasons": item["reasons"]},
                 after={"value": value}, note=note)
    session.flush()
    if obj.study is not None:
        mark_refresh_due([obj.study])
    return item


def _checked(item: dict, value: float | str) -> float | str:
    """A number (a measurement, or a field read as a number) is finite and within the field's plausible range; a
    text field takes text."""
    numeric = EVENT_FIELDS.get(item["field"], not isinstance(item["value"], str))
    if not numeric:
        if not isinstance(value, str):
            raise ReviewError(f"{item['field']} takes text")
        return value
    if isinstance(value, (str, bool)) or not math.isfinite(value):
        raise ReviewError(f"{item['field']} takes a number")
    warnings: list[str] = []
    if plausible.screen({item["field"]: value}, warnings):
        raise ReviewError(warnings[0])
    return value


def _write(obj: DoseObject, item: dict, value) -> None:
    """The value into its event row (column or details) or the record's totals, and the totals recomputed."""
    events = [row for row in obj.events if row.folded_key is None]
    if item["event"] is not None:
        row = next((r for r in events if r.event_index == item["event"]), None)
        if row is None:
            raise ReviewError(f"event {item['event']} of this screen is not stored")
        if item["field"] in EVENT_FIELDS:
            setattr(row, item["field"], value)
        else:
            row.details = {**(row.details or {}), item["field"]: value}
    totals = obj.totals or {}
    derived = set(totals.get("derived_from_events") or [])
    printed = {k: v for k, v in totals.items() if k not in derived and k not in COUNTS}
    if item["event"] is None:
        printed[item["field"]] = value
    unresolved = {i["field"] for i in open_items(obj) if i["id"] != item["id"]}
    obj.totals = screen_totals(printed, [event_record(r) for r in events], unresolved)
