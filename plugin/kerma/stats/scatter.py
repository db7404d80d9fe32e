"""A dose quantity against the patient's weight or age, as points for a chart: computed where the data is.

A year of CT events is hundreds of thousands of values; a browser needs a few thousand points to show the
relation.  The points are the values whose row (the event, or the study at exam level) falls in 1/k of a hash of its
id (Knuth's multiplicative hash), k chosen so that about ``limit`` come back, at most ``limit``: a sample spread
over the filtered values whatever pattern the ids follow, the same for the same data, found without numbering or
sorting the values.  Rows of a fixed 1/32 of the hash are indexed by date (``ix_event_sample_date``,
``ix_study_sample_date``): a sample of 1/32 or less reads those alone, not every value of the period (10,000,000
events: a year of CT values is 2,000,000 rows).

``n`` is how many values of the quantity the filters hold, as the statistics table counts them: summed from its kept
rows for the fresh periods (:mod:`kerma.stats.monthly`) and counted from the rows for the rest; the points are those
of them with a weight (or an age).
"""

from __future__ import annotations

import math

from sqlalchemy import func, literal_column
from sqlalchemy.orm import Session

from .. import quantities
from ..db.models import IrradiationEvent, Study
from . import monthly
from .tables import Filters, rows_statement

AGAINST = {"weight": 5, "age": 4}  # the column of tables.Row holding the patient's weight (kg) or age (years)
VALUE = 3  # tables.Row's value
HASH = 2654435761  # Knuth: id x this, modulo 2^32, spreads consecutive ids over the whole range
SAMPLED = 32  # the indexed sample: the rows whose hash is under 2^32 / SAMPLED


def hashed(row_id):
    """SQL: Knuth's hash of ``row_id`` (an integer column), in [0, 2^32); constants written out, so that a query's term
    matches the sample indexes' predicate (a bound parameter would not)."""
    return row_id * literal_column(str(HASH)) % literal_column(str(2**32))


def in_sample(row_id):
    """SQL: the row is one of the indexed sample (the predicate of the sample indexes, as they are made)."""
    return hashed(row_id) < literal_column(str(2**32 // SAMPLED))


def scatter(session: Session, quantity: str, filters: Filters, against: str = "weight", limit: int = 2000) -> dict:
    """``{"n": values of the quantity, "shown": points returned, "points": [[x, y], ...]}``."""
    n = values(session, quantity, filters)
    points = session.execute(points_statement(quantity, filters, against, limit, n)).all()
    return {"n": n, "shown": len(points), "points": [[px, py] for px, py in points]}


def points_statement(quantity: str, filters: Filters, against: str, limit: int, n: int):
    """The select of the points: 1/k of the ``n`` values, k = n / ``limit`` rounded up, in the hash's order (the same
    points for the same data, and no walk of an index in id order); from the indexed sample when k >= 32."""
    stmt = rows_statement(quantity, filters)
    columns = stmt.selected_columns
    row_id = IrradiationEvent.id if quantities.level_of(quantity) == quantities.EXPOSURE else Study.id
    x, y = columns[AGAINST[against]], columns[VALUE]
    stride = max(1, math.ceil(n / limit))
    sample = stmt.with_only_columns(x, y).where(x.is_not(None))
    if stride >= SAMPLED:
        sample = sample.where(in_sample(row_id))
    if stride > 1:
        sample = sample.where(hashed(row_id) < 2**32 // stride)
    return sample.order_by(hashed(row_id)).limit(limit)


def values(session: Session, quantity: str, filters: Filters) -> int:
    """How many values of ``quantity`` the filters hold: the kept statistics' ``n`` of the fresh periods (the longest
    kept periods the dates are made of), counted from the rows for the stale ones; all counted from the rows when
    the kept rows cannot answer (another filter, dates not whole months)."""
    by_device = filters.device_id is not None  # the rows for every device together have no device to filter on
    for kind in reversed(monthly.KEPT):
        kept = monthly.read(session, quantity, filters, kind, by_device)
        if kept is not None:
            groups, stale = kept
            return sum(figures["n"] for _, figures in groups) + sum(
                _counted(session, quantity, monthly.within(filters, key)) for key in stale)
    return _counted(session, quantity, filters)


def _counted(session: Session, quantity: str, filters: Filters) -> int:
    return session.scalar(rows_statement(quantity, filters).with_only_columns(func.count()))
