"""A dose quantity against the patient's weight or age, as points for a chart: computed where the data is.

A year of CT events is hundreds of thousands of values; a browser needs a few thousand points to show the
relation.  The points are the values whose row (the event, or the study at exam level) falls in 1/k of a hash of its
id (Knuth's multiplicative hash), k chosen so that about ``limit`` come back, at most ``limit``: a sample spread
over the filtered values whatever pattern the ids follow, the same for the same data, found without numbering or
sorting the values (the database tests each row as it reads it, and fetches the patient of the sampled rows only).
``n`` is every value with both numbers, counted.
"""

from __future__ import annotations

import math

from sqlalchemy import BigInteger, cast, func, literal
from sqlalchemy.orm import Session

from .. import quantities
from .tables import Filters, rows_statement

AGAINST = {"weight": 5, "age": 4}  # the column of tables.Row holding the patient's weight (kg) or age (years)
VALUE, STUDY, EVENT = 3, 6, 7  # tables.Row's value, study id and event id
HASH = 2654435761  # Knuth: id x this, modulo 2^32, spreads consecutive ids over the whole range


def scatter(session: Session, quantity: str, filters: Filters, against: str = "weight", limit: int = 2000) -> dict:
    """``{"n": values with both numbers, "shown": points returned, "points": [[x, y], ...]}``."""
    stmt = rows_statement(quantity, filters)
    columns = stmt.selected_columns
    row_id = columns[EVENT if quantities.level_of(quantity) == quantities.EXPOSURE else STUDY]
    x, y = columns[AGAINST[against]], columns[VALUE]
    n = session.scalar(stmt.with_only_columns(func.count()).where(x.is_not(None)))
    stride = max(1, math.ceil(n / limit))
    hashed = cast(row_id, BigInteger) * literal(HASH, BigInteger) % literal(2**32, BigInteger)
    sample = stmt.with_only_columns(x, y).where(x.is_not(None))
    if stride > 1:
        sample = sample.where(hashed < 2**32 // stride)
    # in the hash's order: the same points for the same data, and no walk of an index in id order
    points = session.execute(sample.order_by(hashed).limit(limit)).all()
    return {"n": n, "shown": len(points), "points": [[px, py] for px, py in points]}

