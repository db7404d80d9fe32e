"""Where a quantity's value is kept in the dose database, for statistics and for code that reads rows.

The quantity table (:mod:`kerma.quantities`) says it: ``column`` is the ORM column of the quantity's name
(``IrradiationEvent`` at exposure level, ``Study`` at exam level); ``details`` is a key of a JSON document
(an event's ``details``; a study's resolved totals, ``dose_totals``, under the quantity's ``record_total``).
A quantity kept in JSON is usable at once; one that needs speed at scale gets a column by a migration.
"""

from __future__ import annotations

from ..quantities import COLUMN, EXPOSURE, Quantity
from .models import IrradiationEvent, Study


def expression(quantity: Quantity):
    """The SQL expression of ``quantity``'s value (a number, or NULL) in its row (an event or a study)."""
    if quantity.level == EXPOSURE:
        if quantity.statistics == COLUMN:
            return getattr(IrradiationEvent, quantity.key)
        return IrradiationEvent.details[quantity.key].as_float()
    if quantity.statistics == COLUMN:
        return getattr(Study, quantity.key)
    return Study.dose_totals[quantity.record_total].as_float()


def value(row: IrradiationEvent | Study, quantity: Quantity) -> float | None:
    """``quantity``'s value in ``row`` (an event at exposure level, a study at exam level), None when absent."""
    if quantity.statistics == COLUMN:
        found = getattr(row, quantity.key)
    elif quantity.level == EXPOSURE:
        found = (row.details or {}).get(quantity.key)
    else:
        found = (row.dose_totals or {}).get(quantity.record_total)
    return found if isinstance(found, (int, float)) and not isinstance(found, bool) else None
