"""DRL compliance: per standard exam × device × period, the median and 75th percentile against the DRL in force.

A DRL is compared with the median of a room's distribution for an examination (ICRP Publication 135 (2017),
§ 2.5 and 5.1: "the median value of the distribution ... should be compared with the DRL"); the 75th percentile
beside it says how much of the distribution lies above the level.  The status of a row:

``red``
    the median is above the DRL (a review of the protocol is due, ICRP 135 § 7.1);
``amber``
    the median is at or below the DRL but the 75th percentile is above it (more than a quarter of the examinations
    exceed the level);
``green``
    the 75th percentile is at or below the DRL.

A row with fewer than :data:`ENOUGH_VALUES` values is marked ``few_values``: ICRP 135 asks for the data of at least
20 patients (preferably 30; 50 for mammography) per examination and room before a median is compared with a DRL.

Every quantity that has an active DRL (local before national, see :mod:`kerma.drl.sets`) is compared, each row
with the DRL matched to its patient band and date, so adults and a paediatric band are never mixed.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import partial

from sqlalchemy.orm import Session

from ..drl.sets import active_levels
from . import tables

STATUSES = ("red", "amber", "green")  # worst first: the order of the table
ENOUGH_VALUES = 20  # ICRP Publication 135 (2017): at least 20 patients per examination and room


def status(median: float, p75: float, drl: float) -> str:
    """The red/amber/green status of a distribution with ``median`` and ``p75`` against ``drl`` (see module text)."""
    if median > drl:
        return "red"
    return "amber" if p75 > drl else "green"


def period_bounds(key: str | None) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day of a period key of :func:`kerma.stats.tables.period_of` (``2026-Q4``: Oct 1 – Dec 31)."""
    if key is None or key == "all":
        return None, None
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", key):
        year, first = int(m[1]), (int(m[2]) - 1) * 3 + 1
        return dt.date(year, first, 1), _month_end(year, first + 2)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", key):
        return dt.date(int(m[1]), int(m[2]), 1), _month_end(int(m[1]), int(m[2]))
    if re.fullmatch(r"\d{4}", key):
        return dt.date(int(key), 1, 1), dt.date(int(key), 12, 31)
    raise ValueError(f"not a period: {key!r}")


def _month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def compliance(session: Session, filters: tables.Filters, period: str = "quarter",
               quantities: set[str] | None = None) -> list[dict]:
    """The compliance rows for ``filters``: every quantity with an active DRL (or those of ``quantities``), each
    exam × device × period × DRL with n, median, 75th percentile, both ratios and the status (:func:`row_of`); worst
    first (status, then median / DRL from the highest)."""
    rows = [r for quantity in sorted(compared(session, quantities))
            for r in map(partial(row_of, filters=filters), tables.median_table(session, quantity, filters, period))
            if r is not None]
    return sorted(rows, key=lambda r: (STATUSES.index(r["status"]), -r["median_over_drl"]))


def compared(session: Session, quantities: set[str] | None = None) -> set[str]:
    """The quantities with an active DRL (those of ``quantities`` alone, when given)."""
    wanted = {level.quantity for level in active_levels(session)}
    return wanted if quantities is None else wanted & quantities


def row_of(row: dict, filters: tables.Filters) -> dict | None:
    """The compliance row of a statistics table's row (:func:`kerma.stats.tables.median_table`; None without a DRL):
    n, median, 75th percentile, both ratios and the status.  ``period_from`` and ``period_to`` bound the row's period
    within the filters' dates (for the drill-down to the examinations above the DRL)."""
    drl = row["drl"]
    if drl is None or row["median"] is None:
        return None
    first, last = period_bounds(row["period"])
    if filters.date_from and (first is None or first < filters.date_from):
        first = filters.date_from
    if filters.date_to and (last is None or last > filters.date_to):
        last = filters.date_to
    return {
        "standard_exam_id": row["standard_exam_id"], "standard_exam": row["standard_exam"],
        "device_id": row["device_id"], "period": row["period"],
        "period_from": first.isoformat() if first else None, "period_to": last.isoformat() if last else None,
        "quantity": row["quantity"], "patient_group": drl["patient_group"], "n": row["n"],
        "few_values": row["n"] < ENOUGH_VALUES, "median": row["median"],
        "p75": row["p75"], "drl": drl, "drl_value_id": row["drl_value_id"],
        "achievable_value_id": row["achievable_value_id"],
        "median_over_drl": row["median"] / drl["value"], "p75_over_drl": row["p75"] / drl["value"],
        "status": status(row["median"], row["p75"], drl["value"]),
    }
