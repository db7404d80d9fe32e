"""A dose quantity against the patient's weight or age, as points for a chart: computed where the data is.

A year of CT events is hundreds of thousands of values; a browser needs a few thousand points to show the
relation.  The points are every k-th value (in the order of studies and events), k chosen so that at most
``limit`` come back: a sample spread evenly over the filtered values, the same for the same data.
"""

from __future__ import annotations

import math

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .tables import Filters, rows_statement

AGAINST = {"weight": 5, "age": 4}  # the column of tables.Row holding the patient's weight (kg) or age (years)
VALUE, STUDY, EVENT = 3, 6, 7  # tables.Row's value, study id and event id


def scatter(session: Session, quantity: str, filters: Filters, against: str = "weight", limit: int = 2000) -> dict:
    """``{"n": values with both numbers, "shown": points returned, "points": [[x, y], ...]}``."""
    rows = rows_statement(quantity, filters).subquery()
    x, y = rows.c[AGAINST[against]], rows.c[VALUE]
    n = session.scalar(select(func.count()).select_from(rows).where(x.is_not(None)))
    stride = max(1, math.ceil(n / limit))
    numbered = (select(x.label("x"), y.label("y"), func.row_number().over(order_by=(rows.c[STUDY], rows.c[EVENT])).label("k"))
                .where(x.is_not(None)).subquery())
    points = session.execute(select(numbered.c.x, numbered.c.y).where((numbered.c.k - 1) % stride == 0)
                             .order_by(numbered.c.k)).all()
    return {"n": n, "shown": len(points), "points": [[px, py] for px, py in points]}
