"""Statistics kept ready: the median table per exam × device (or all devices) × month, quarter and year, and the
examinations per device per month, refreshed after changes.

Computing a table from the rows costs seconds at a million events, too slow for a page.  So the tables for the
periods "month", "quarter" and "year", per device and for every device together (the trend), are kept in
``month_summary``, one row per (quantity, period, exam, device, DRL value, achievable dose), and read back in a
single query; the examinations per device are kept per month in ``month_count`` (counts of studies, so a quarter
or a year is the sum of its months).  A median of a quarter is no function of its months' medians: quarters and
years are kept as rows of their own, computed from the rows like the months.  Ingestion marks the months it
touched, with their quarters and years, as stale, a rule or DRL change marks every period stale
(:func:`kerma.db.states.mark_months_stale`, the one place that does), and a background thread recomputes stale
periods with the same code that computes the tables from the rows (:mod:`kerma.stats.refresher`); until a period is
fresh again, a request covering it computes that period from the rows and reads the others here, so an answer is
never out of date.  The period "all" and any range not made of whole periods are computed from the rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import quantities
from ..db.models import MonthCount, MonthSummary, MonthSummaryStale, Setting
from ..db.states import TRACKED, UNDATED, period_keys

STATS = ("n", "median", "mean", "min", "max", "sd", "p25", "p75")
KEPT = ("month", "quarter", "year")  # the periods kept, in the order of period_keys


def kind_of(key: str) -> str | None:
    """The period a key names: month ("2026-03"), quarter ("2026-Q1"), year ("2026"); None for "undated"."""
    if key == UNDATED:
        return None
    return "year" if len(key) == 4 else "quarter" if "-Q" in key else "month"


def key_range(key: str) -> tuple[dt.date, dt.date]:
    """First and last day of the period ``key`` names."""
    year, kind = int(key[:4]), kind_of(key)
    first_month, months = ((1, 12) if kind == "year" else (3 * int(key[6:]) - 2, 3) if kind == "quarter"
                           else (int(key[5:7]), 1))
    end = first_month + months
    following = dt.date(year + (end - 1) // 12, (end - 1) % 12 + 1, 1)
    return dt.date(year, first_month, 1), following - dt.timedelta(days=1)


def _keys_in(filters, kind: str) -> list[str] | None:
    """The keys of ``kind`` the request's dates cover, in order (None: no date bound, every key; [] when the dates
    are not whole periods of that kind, which the kept rows cannot answer)."""
    if not (filters.date_from or filters.date_to):
        return None
    if not (filters.date_from and filters.date_to):
        return []
    index = KEPT.index(kind)
    first, last = period_keys(filters.date_from)[index], period_keys(filters.date_to)[index]
    if key_range(first)[0] != filters.date_from or key_range(last)[1] != filters.date_to or first > last:
        return []
    keys, day = [], filters.date_from
    while day <= filters.date_to:
        keys.append(period_keys(day)[index])
        day = key_range(keys[-1])[1] + dt.timedelta(days=1)
    return keys


def kept_keys(session: Session, filters, kind: str) -> tuple[list[str] | None, set[str]] | None:
    """(The keys of ``kind`` a request covers, None: every one, undated included; those of them that are stale), or
    None when the kept rows cannot answer it (dates not made of whole periods, another filter, nothing kept yet)."""
    if kind not in KEPT or filters.modality or filters.undated or session.get(Setting, TRACKED) is None:
        return None
    keys = _keys_in(filters, kind)
    if keys == []:
        return None
    stale = set(session.scalars(select(MonthSummaryStale.month)))  # a few rows: the periods changed since the last round
    return keys, stale & set(keys) if keys is not None else {k for k in stale if kind_of(k) in (kind, None)}


def within(filters, key: str):
    """``filters`` narrowed to the period ``key`` (a stale one, computed from the rows)."""
    if key == UNDATED:
        return replace(filters, date_from=None, date_to=None, undated=True)
    return replace(filters, date_from=key_range(key)[0], date_to=key_range(key)[1])


def kept_scope(session: Session, wanted: set[str], filters, period: str = "month", by_device: bool = True):
    """(The select of the kept rows of the quantities ``wanted`` for the request's fresh periods, its columns those
    :func:`groups` reads and the quantity, the keys of its stale periods for the caller to compute from the rows), or
    None when the kept rows cannot answer (a quantity not kept among them, too)."""
    if not wanted or not wanted <= {q.key for q in quantities.summarised()}:
        return None
    found = kept_keys(session, filters, period)
    if found is None:
        return None
    keys, stale = found
    columns = [MonthSummary.standard_exam_id, MonthSummary.device_id, MonthSummary.month, MonthSummary.drl_value_id,
               MonthSummary.achievable_value_id, *[getattr(MonthSummary, k) for k in STATS], MonthSummary.quantity]
    stmt = _fresh(select(*columns).where(MonthSummary.quantity.in_(sorted(wanted)), MonthSummary.period == period,
                                         MonthSummary.by_device == by_device), MonthSummary, keys, stale, filters)
    if filters.standard_exam_id is not None:
        stmt = stmt.where(MonthSummary.standard_exam_id == filters.standard_exam_id)
    return stmt, stale


def groups(rows) -> list[tuple[tuple, dict]]:
    """The kept rows of :func:`kept_scope` as groups, ((exam, device, period, DRL id, achievable id), figures), as
    :func:`kerma.stats.tables.computed_table` makes them."""
    # each row unpacked once (indexing or slicing a result row goes through its key lookup: 18 µs a row)
    return [((exam, device, None if key == UNDATED else key, drl, achievable), dict(zip(STATS, figures)))
            for exam, device, key, drl, achievable, *figures in rows]


def read(session: Session, quantity: str, filters, period: str = "month", by_device: bool = True
         ) -> tuple[list[tuple[tuple, dict]], set[str]] | None:
    """The groups of the kept table (:func:`groups`) for the fresh periods of the request, and the keys of its stale
    periods (for the caller to compute from the rows); None when the kept rows cannot answer."""
    found = kept_scope(session, {quantity}, filters, period, by_device)
    if found is None:
        return None
    stmt, stale = found
    return groups(session.execute(stmt).all()), stale


def _fresh(stmt, table, keys, stale: set[str], filters):
    """``stmt`` over a kept ``table`` limited to the request's periods (``keys``; None: every one) that are not stale,
    and to its device."""
    if keys is not None:
        stmt = stmt.where(table.month.in_(keys))
    if stale:
        stmt = stmt.where(table.month.not_in(stale))
    if filters.device_id is not None:
        stmt = stmt.where(table.device_id == filters.device_id)
    return stmt


def read_counts(session: Session, filters) -> tuple[list[tuple[int, str | None, str, str | None, int]], set[str]] | None:
    """The kept examinations per device of the request's fresh months, (device, month or None, field, name, n), and
    the keys of its stale months; None when they cannot answer (dates not whole months, nothing kept yet)."""
    found = kept_keys(session, filters, "month")
    if found is None:
        return None
    keys, stale = found
    stmt = _fresh(select(MonthCount.device_id, MonthCount.month, MonthCount.field, MonthCount.name, MonthCount.n),
                  MonthCount, keys, stale, filters)
    return [(device, None if month == UNDATED else month, field, name, n)
            for device, month, field, name, n in session.execute(stmt)], stale
