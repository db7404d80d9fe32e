"""Where a quantity's value is kept in the dose database, for statistics and for code that reads rows.

The quantity table (:mod:`kerma.quantities`) says it: ``column`` is the ORM column of the quantity's name
(``IrradiationEvent`` at exposure level, ``Study`` at exam level); ``details`` is a key of a JSON document
(an event's ``details``; a study's resolved totals, ``dose_totals``, under the quantity's ``record_total``).
A quantity kept in JSON is usable at once; one that needs speed at scale gets a column by a migration.

Device correction factors (:mod:`kerma.correction_kinds`): a study's totals are kept corrected; an event keeps its
values as the device reported them and the factor of each kind beside them, so an event's value here is the
reported one times its factor (1 when none covers it).
"""

from __future__ import annotations

from sqlalchemy import func

from ..correction_kinds import kind_by_field
from ..quantities import COLUMN, EXPOSURE, Quantity
from .models import IrradiationEvent, Study


def expression(quantity: Quantity):
    """The SQL expression of ``quantity``'s value (a number, or NULL) in its row (an event or a study)."""
    if quantity.level == EXPOSURE:
        return event_expression(quantity.key, quantity.statistics == COLUMN)
    if quantity.statistics == COLUMN:
        return getattr(Study, quantity.key)
    return Study.dose_totals[quantity.record_total].as_float()


def event_expression(key: str, column: bool = True):
    """An event field's value in SQL, times the event's correction factor for it when a kind covers the field."""
    reported = getattr(IrradiationEvent, key) if column else IrradiationEvent.details[key].as_float()
    kind = kind_by_field().get(key)
    return reported if kind is None else reported * func.coalesce(getattr(IrradiationEvent, kind.event_column), 1.0)


def value(row: IrradiationEvent | Study, quantity: Quantity) -> float | None:
    """``quantity``'s value in ``row`` (an event at exposure level, a study at exam level), None when absent."""
    if quantity.statistics == COLUMN:
        found = getattr(row, quantity.key)
    elif quantity.level == EXPOSURE:
        found = (row.details or {}).get(quantity.key)
    else:
        found = (row.dose_totals or {}).get(quantity.record_total)
    if not isinstance(found, (int, float)) or isinstance(found, bool):
        return None
    kind = kind_by_field().get(quantity.key) if quantity.level == EXPOSURE else None
    factor = getattr(row, kind.event_column) if kind is not None else None
    return found * factor if factor is not None else found
