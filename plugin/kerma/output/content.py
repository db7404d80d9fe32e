"""SR content items in a few words: highdicom's value types with their relationship, and a container that takes its
children at once.  Codes come from pydicom's PS3.16 dictionary (``codes.DCM.…``), units from UCUM."""

from __future__ import annotations

import math
from collections.abc import Iterable

import highdicom as hd
from highdicom.sr import RelationshipTypeValues as Rel
from pydicom.sr.coding import Code

CONTAINS, HAS_PROPERTIES, HAS_CONCEPT_MOD, HAS_OBS_CONTEXT = (
    Rel.CONTAINS, Rel.HAS_PROPERTIES, Rel.HAS_CONCEPT_MOD, Rel.HAS_OBS_CONTEXT)
INFERRED_FROM = Rel.INFERRED_FROM

# DICOM Decimal Strings hold 16 characters: values are written to 6 significant digits (what every estimate's
# uncertainty leaves meaningful)
SIGNIFICANT_DIGITS = 6


def unit(ucum: str, meaning: str | None = None) -> Code:
    """A UCUM unit code (``mGy``, ``Gy.m2``, ``{events}``)."""
    return Code(ucum, "UCUM", meaning or ucum)


def code(value: str, scheme: str, meaning: str) -> Code:
    return Code(value, scheme, meaning)


def written(value: float, significant: int | None = SIGNIFICANT_DIGITS) -> float:
    """``value`` as it is written into the SR: finite, to ``significant`` digits (None: as many as a Decimal String
    holds, for values copied from a device)."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be written into an SR")
    return value if significant is None else float(f"{value:.{significant}g}")


def container(name: Code, relationship=CONTAINS, children: Iterable = (), template_id: str | None = None):
    item = hd.sr.ContainerContentItem(name, relationship_type=relationship, template_id=template_id)
    kids = [c for c in children if c is not None]
    if kids:
        item.ContentSequence = hd.sr.ContentSequence(kids)
    return item


def num(name: Code, value: float | None, units: Code, relationship=CONTAINS, children: Iterable = (),
        significant: int | None = SIGNIFICANT_DIGITS):
    """A NUM item, None when there is no value (absent is absent, never 0)."""
    if value is None:
        return None
    item = hd.sr.NumContentItem(name, written(float(value), significant), units, relationship_type=relationship)
    return _with(item, children)


def text(name: Code, value: str | None, relationship=CONTAINS):
    if value is None or not str(value).strip():
        return None
    return hd.sr.TextContentItem(name, str(value), relationship_type=relationship)


def coded(name: Code, value: Code | None, relationship=CONTAINS, children: Iterable = ()):
    if value is None:
        return None
    return _with(hd.sr.CodeContentItem(name, value, relationship_type=relationship), children)


def uid(name: Code, value: str | None, relationship=CONTAINS):
    if not value:
        return None
    return hd.sr.UIDRefContentItem(name, value, relationship_type=relationship)


def datetime_item(name: Code, value: str | None, relationship=CONTAINS):
    """A DATETIME item from an ISO 8601 text (as the extractor gives it)."""
    if not value:
        return None
    from datetime import datetime
    return hd.sr.DateTimeContentItem(name, datetime.fromisoformat(value), relationship_type=relationship)


def composite(name: Code, sop_class_uid: str, sop_instance_uid: str, relationship=CONTAINS):
    return hd.sr.CompositeContentItem(name, sop_class_uid, sop_instance_uid, relationship_type=relationship)


def _with(item, children: Iterable):
    kids = [c for c in children if c is not None]
    if kids:
        item.ContentSequence = hd.sr.ContentSequence(kids)
    return item
