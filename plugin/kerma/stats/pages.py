"""A page of a statistics table or of DRL compliance: sorted, counted and cut by the database over the kept rows.

No one reads 30,000 rows at once (a two-year month table at a million events), and building them took seconds: the
routes answer one page, ``limit`` rows from ``offset`` in the order of ``sort`` and ``order``, with the ``total``.
The kept rows of the request's fresh periods (``month_summary``, :mod:`kerma.stats.monthly`) are sorted, counted
and cut by the database; only the page's rows are described (names, DRLs, ratios).  Rows the kept table cannot give
— its stale periods, computed from the rows as :func:`kerma.stats.tables.median_table` computes them, or a
quantity that is not kept — are few, and are merged into the page here in the same order, so a page is exactly the
page of the whole table sorted that way (the ties broken by the row's ids, in the database and here alike).  When
the kept rows cannot answer at all (the period "all", dates that are not whole periods, a modality), the table is
computed from the rows and cut here.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Callable

from sqlalchemy import and_, case, func, literal, nulls_last, select
from sqlalchemy.orm import Session

from .. import quantities as known
from ..db.models import Device, DrlValue, MonthSummary, StandardExam
from ..db.names import device_label
from ..db.states import UNDATED
from . import compliance, monthly, tables

STATISTICS_SORTS = ("standard_exam", "device_name", "period", "n", "median", "mean", "sd", "p25", "p75", "min", "max",
                    "drl", "median_over_drl")
COMPLIANCE_SORTS = ("status", "standard_exam", "device_name", "period", "patient_group", "quantity", "n", "median", "p75",
                    "drl", "median_over_drl", "p75_over_drl")


@dataclass(frozen=True)
class Page:
    limit: int | None = None  # None: every row (the CSV export)
    offset: int = 0
    sort: str = "standard_exam"
    order: str = "asc"


@dataclass(frozen=True)
class Term:
    """One term of an order: its SQL over the kept rows (``month_summary`` and the DRL value joined), its value on a
    built row, and whether it runs against the requested order (compliance's status: worst first, then the highest
    median / DRL)."""
    sql: object
    value: Callable[[dict], object]
    flip: bool = False


def _text(session: Session, column):
    """A text column compared by code point, as Python compares strings (PostgreSQL's collation may differ)."""
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column


class _Order:
    """The terms of a sort, then the row's ids (unique per kept row), for the SQL and for rows built here."""

    def __init__(self, session: Session, page: Page, drl):
        self.session, self.page, self.drl = session, page, drl
        ratio = MonthSummary.median / drl.value
        status = case((MonthSummary.median > drl.value, 0), (MonthSummary.p75 > drl.value, 1), else_=2)
        named = {"standard_exam": lambda: self._rank(StandardExam.id, StandardExam.name, MonthSummary.standard_exam_id,
                                                     "standard_exam_id", str),
                 "device_name": lambda: self._rank(Device.id, Device, MonthSummary.device_id, "device_id", device_label)}
        sorts = {
            "period": [Term(_text(session, MonthSummary.month), lambda r: r["period"] or UNDATED)],
            "drl": [Term(drl.value, lambda r: r["drl"]["value"] if r["drl"] else None)],
            "median_over_drl": [Term(ratio, lambda r: r["median_over_drl"])],
            "p75_over_drl": [Term(MonthSummary.p75 / drl.value, lambda r: r["p75_over_drl"])],
            "patient_group": [Term(_text(session, drl.patient_group), lambda r: r["patient_group"])],
            "quantity": [Term(_text(session, MonthSummary.quantity), lambda r: r["quantity"])],
            "status": [Term(status, lambda r: compliance.STATUSES.index(r["status"])),
                       Term(ratio, lambda r: r["median_over_drl"], flip=True)],
            **{k: [Term(getattr(MonthSummary, k), lambda r, k=k: r[k])] for k in monthly.STATS},
        }
        self.terms = named[page.sort]() if page.sort in named else sorts[page.sort]
        self.terms += [Term(getattr(MonthSummary, c), lambda r, c=c: r[c]) for c in ("standard_exam_id", "device_id")]
        self.terms += sorts["quantity"] + sorts["period"]
        self.terms += [Term(getattr(MonthSummary, c), lambda r, c=c: r[c]) for c in ("drl_value_id", "achievable_value_id")]
        self.descending = [(page.order == "desc") != t.flip for t in self.terms]
        self.key = cmp_to_key(self._compare)

    def _rank(self, id_column, what, kept_column, field: str, name_of) -> list[Term]:
        """Sorting by a name: each id's place among the names (sorted here, in Python's order), as a CASE in SQL."""
        found = self.session.execute(select(id_column, what)).all()
        ranks = {i: place for place, (i, _) in enumerate(sorted(found, key=lambda f: (name_of(f[1]), f[0])))}
        return [Term(case(ranks, value=kept_column) if ranks else literal(None), lambda r: ranks.get(r[field]))]

    def sql(self) -> list:
        return [nulls_last(t.sql.desc() if down else t.sql.asc()) for t, down in zip(self.terms, self.descending)]

    def _compare(self, a: dict, b: dict) -> int:
        for term, down in zip(self.terms, self.descending):
            x, y = term.value(a), term.value(b)
            if x == y:
                continue
            if x is None or y is None:  # absent last, either way
                return 1 if x is None else -1
            return (1 if x > y else -1) * (-1 if down else 1)
        return 0


def _drl_joined(stmt, session: Session):
    """``stmt`` over ``month_summary`` with each row's DRL value beside it, when that DRL is active (as
    :class:`kerma.stats.tables.ReferenceLevels` finds it: a DRL no longer active describes no row)."""
    active = list(tables.ReferenceLevels(session).by_id)
    drl = DrlValue.__table__.alias("drl")
    return stmt.outerjoin(drl, and_(drl.c.id == MonthSummary.drl_value_id, drl.c.id.in_(active))), drl.c


def _merged(session: Session, kept, order: _Order, extra: list[dict], build, page: Page, total: int | None = None
            ) -> tuple[list[dict], int]:
    """The page of the kept rows (``kept``: a select over month_summary, or None) and the ``extra`` rows built here,
    together in ``order``, and their total (counted here unless given).  ``build``: the rows of a page from the kept
    select's rows."""
    extra = sorted(extra, key=order.key)
    if kept is None:
        end = None if page.limit is None else page.offset + page.limit
        return extra[page.offset:end], len(extra)
    if total is None:
        total = session.scalar(select(func.count()).select_from(kept.order_by(None).subquery())) + len(extra)
    ordered = kept.order_by(*order.sql())
    if page.limit is None:
        return list(heapq.merge(build(session.execute(ordered).all()), extra, key=order.key))[page.offset:], total
    # a kept row's place in the whole is its place among the kept plus the extra rows before it: the page's kept rows
    # are among those from offset - len(extra); the one kept row before them tells which extra rows come earlier
    low = max(0, page.offset - len(extra))
    start = max(0, low - 1)
    fetched = build(session.execute(ordered.offset(start).limit(page.offset + page.limit - start)).all())
    before = 0
    if low > 0:
        if not fetched:
            return [], total
        boundary, fetched = fetched[0], fetched[1:]
        while before < len(extra) and order.key(extra[before]) < order.key(boundary):
            before += 1
    window = list(heapq.merge(fetched, extra[before:], key=order.key))
    skip = page.offset - low - before
    return window[skip:skip + page.limit], total


def _kept(session: Session, quantity: str, filters: tables.Filters, period: str, by_device: bool):
    """(select of the request's fresh kept rows with their DRL value, its DRL columns, the stale keys), or None."""
    found = monthly.kept_scope(session, {quantity}, filters, period, by_device)
    if found is None:
        return None
    stmt, stale = found
    stmt, drl = _drl_joined(stmt, session)
    return stmt, drl, stale


def statistics_page(session: Session, quantity: str, filters: tables.Filters, period: str, by_device: bool,
                    page: Page, above_drl: bool = False) -> tuple[list[dict], int]:
    """A page of :func:`kerma.stats.tables.median_table` (its rows whose median is above their DRL alone, with
    ``above_drl``) in ``page``'s order, and the table's row count."""
    drls, achievables = tables.ReferenceLevels(session), tables.ReferenceLevels(session, tables.ACHIEVABLE)
    wanted = (lambda r: r["median_above_drl"]) if above_drl else (lambda r: True)  # noqa: E731
    found = _kept(session, quantity, filters, period, by_device)
    if found is None:
        order = _Order(session, page, DrlValue.__table__.c)
        rows = tables.computed_table(session, quantity, filters, period, by_device)
        return _merged(session, None, order, list(filter(wanted, rows)), None, page)
    stmt, drl, stale = found
    if above_drl:
        stmt = stmt.where(MonthSummary.median > drl.value)
    extra = []
    for key in sorted(stale):
        extra += tables.groups_from_rows(session, quantity, monthly.within(filters, key), period, by_device, drls, achievables)

    def build(rows) -> list[dict]:
        return tables.table_of(session, quantity, monthly.groups(rows), drls, achievables, ordered=False)
    extra = list(filter(wanted, tables.table_of(session, quantity, extra, drls, achievables, ordered=False)))
    return _merged(session, stmt, _Order(session, page, drl), extra, build, page)


def compliance_page(session: Session, filters: tables.Filters, period: str, quantities: set[str] | None,
                    statuses: tuple[str, ...], page: Page) -> tuple[list[dict], int, dict[str, int]]:
    """A page of :func:`kerma.stats.compliance.compliance` (its rows of ``statuses``; every status when empty) in
    ``page``'s order, their total, and how many of them have each status (the screen's tiles)."""
    drls, achievables = tables.ReferenceLevels(session), tables.ReferenceLevels(session, tables.ACHIEVABLE)
    wanted = compliance.compared(session, quantities)
    kept = wanted & {q.key for q in known.summarised()}
    found = monthly.kept_scope(session, kept, filters, period, True)
    if found is None:
        kept = set()

    def rows_of(quantity: str, groups) -> list[dict]:
        return [r for r in (compliance.row_of(row, filters) for row in tables.table_of(
            session, quantity, groups, drls, achievables, ordered=False)) if r is not None]

    extra = []  # the quantities not kept, and the stale periods of those kept, from the rows
    for quantity in sorted(wanted - kept):
        extra += rows_of(quantity, tables.groups_from_rows(session, quantity, filters, period, True, drls, achievables))
    for quantity in sorted(kept) if found else ():
        for key in sorted(found[1]):
            extra += rows_of(quantity, tables.groups_from_rows(session, quantity, monthly.within(filters, key), period, True,
                                                      drls, achievables))
    if statuses:
        extra = [r for r in extra if r["status"] in statuses]
    counts = {s: sum(r["status"] == s for r in extra) for s in compliance.STATUSES}
    if found is None:
        rows, total = _merged(session, None, _Order(session, page, DrlValue.__table__.c), extra, None, page)
        return rows, total, counts
    stmt, _stale = found
    stmt, drl = _drl_joined(stmt, session)
    status = case((MonthSummary.median > drl.value, 0), (MonthSummary.p75 > drl.value, 1), else_=2)
    stmt = stmt.where(drl.id.is_not(None), MonthSummary.median.is_not(None))
    if statuses:
        stmt = stmt.where(status.in_([compliance.STATUSES.index(s) for s in statuses]))
    kept_status = stmt.with_only_columns(status.label("status"), maintain_column_froms=True).subquery()
    for rank, n in session.execute(select(kept_status.c.status, func.count()).group_by(kept_status.c.status)):
        counts[compliance.STATUSES[rank]] += n

    def build(rows) -> list[dict]:
        by_quantity: dict[str, list] = {}
        for place, row in enumerate(rows):
            by_quantity.setdefault(row[-1], []).append((place, row))
        placed: dict[int, dict] = {}
        for quantity, members in by_quantity.items():
            built = tables.table_of(session, quantity, monthly.groups([r for _, r in members]), drls, achievables,
                                  ordered=False)
            for (place, _), row in zip(members, built):
                placed[place] = compliance.row_of(row, filters)
        return [placed[i] for i in range(len(rows))]
    rows, total = _merged(session, stmt, _Order(session, page, drl), extra, build, page, sum(counts.values()))
    return rows, total, counts
