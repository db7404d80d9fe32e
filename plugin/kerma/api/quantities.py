"""REST: the quantities Kerma knows (:mod:`kerma.quantities`), for labels, units and descriptions in the UI."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from .. import quantities
from ..access import VIEWER
from .router import Context, Request, route
from .schemas import Flag, Query, query


class QuantityQuery(Query):
    level: Literal[quantities.LEVELS] | None = None
    statistic: Flag | None = None  # only those statistics can use (or only the others)


@route("GET", r"quantities", role=VIEWER)
def list_quantities(ctx: Context, session: Session, request: Request) -> dict:
    """Every quantity in the table's order: key, label, units, level, families, aggregate, decimals, description..."""
    q = query(request, QuantityQuery)
    rows = [quantity for quantity in quantities.table().values()
            if (q.level is None or quantity.level == q.level)
            and (q.statistic is None or quantity.is_statistic == q.statistic)]
    return {"quantities": [quantity.as_json() for quantity in rows]}
