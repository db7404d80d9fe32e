"""A page of the statistics table and of DRL compliance (kerma.stats.pages): sorted, counted and cut by the database
over the kept rows, with stale periods merged from the rows; every page together is the whole table (computed from
the rows, which test_statistics checks against numpy), in order, on both engines."""

import datetime as dt
from collections import Counter

import numpy as np
import pytest

from kerma.db import states
from kerma.stats import compliance, monthly, pages, refresher, tables
from records_factory import ct_study
from test_statistics import _store, generated  # noqa: F401  (the fixture: two CT devices, three months, DRLs)

SIZE = 4  # rows a page: the tables here have 10-40 rows


def _identity(row: dict) -> tuple:
    return (row.get("quantity"), row["standard_exam_id"], row["device_id"], row["period"], row["drl_value_id"],
            row["achievable_value_id"])


def _figures(row: dict) -> tuple:
    """The row's figures, to 9 significant digits (the database and Python sum in different orders)."""
    return tuple(None if v is None else float(f"{v:.9g}")
                 for v in (row["n"], row["median"], row["p75"], row.get("mean"), row.get("median_over_drl")))


def _every_page(read, sort: str, order: str) -> tuple[list[dict], set[int]]:
    rows, totals, offset = [], set(), 0
    while True:
        page, total = read(pages.Page(SIZE, offset, sort, order))[:2]
        totals.add(total)
        rows += page
        if len(page) < SIZE:
            return rows, totals
        offset += SIZE


def _in_order(rows: list[dict], value, order: str) -> bool:
    """Sorted by ``value`` (absent last), as a person would check the column."""
    present = [value(r) for r in rows if value(r) is not None]
    tail = [value(r) for r in rows[len(present):]]
    return present == sorted(present, reverse=order == "desc") and all(v is None for v in tail)


def _column(sort: str, devices: dict):
    station = {i: name for name, i in devices.items()}
    return {"standard_exam": lambda r: r["standard_exam"], "device_name": lambda r: station.get(r["device_id"]),
            "period": lambda r: r["period"], "drl": lambda r: r["drl"]["value"] if r["drl"] else None,
            "status": lambda r: compliance.STATUSES.index(r["status"]),
            "patient_group": lambda r: r["patient_group"]}.get(sort, lambda r: r.get(sort))


def _check_statistics(s, devices, period: str, by_device: bool):
    whole = tables.computed_table(s, "ctdivol_mGy", tables.Filters(), period, by_device)
    for sort in pages.STATISTICS_SORTS:
        for order in ("asc", "desc"):
            rows, totals = _every_page(lambda p: pages.statistics_page(s, "ctdivol_mGy", tables.Filters(), period,
                                                                       by_device, p), sort, order)
            assert totals == {len(whole)}, (sort, order)
            assert sorted(map(_identity, rows)) == sorted(map(_identity, whole)), (sort, order)
            assert {_identity(r): _figures(r) for r in rows} == {_identity(r): _figures(r) for r in whole}
            assert _in_order(rows, _column(sort, devices), order), (sort, order, [_column(sort, devices)(r) for r in rows])
    every, total = pages.statistics_page(s, "ctdivol_mGy", tables.Filters(), period, by_device, pages.Page(None))
    assert total == len(every) == len(whole)  # the CSV export: every row


def test_pages_of_the_kept_table_and_with_a_stale_month_are_the_whole_table_in_order(sessions, generated):  # noqa: F811
    records, thorax, devices = generated
    with sessions() as s, s.begin():
        states.mark_months_stale(s)
        while refresher.refresh(s):
            pass
    with sessions() as s:
        assert monthly.read(s, "ctdivol_mGy", tables.Filters())[1] == set()
        for period, by_device in (("month", True), ("quarter", False), ("all", True)):  # "all": from the rows
            _check_statistics(s, devices, period, by_device)
    # a new study in February: February, 2026-Q1 and 2026 stale, merged into the pages from the rows
    _store(sessions, [ct_study("2026-02-14", "CT-A", "Thorax Routine", [99.0], [3000.0], description="CT Thorax")])
    with sessions() as s:
        assert monthly.read(s, "ctdivol_mGy", tables.Filters())[1] == {"2026-02"}
        for period, by_device in (("month", True), ("year", True)):
            _check_statistics(s, devices, period, by_device)
        (top,), total = pages.statistics_page(s, "ctdivol_mGy", tables.Filters(), "month", True,
                                              pages.Page(1, 0, "max", "desc"))
        february = [c for r in records + [ct_study("2026-02-14", "CT-A", "Thorax Routine", [99.0], [3000.0])]
                    if r.study.study_date.startswith("2026-02") and r.device.station_name == "CT-A"
                    and r.patient.age_years != 7.0 for c in (e["ctdivol_mGy"] for e in r.events)]
        assert (top["period"], top["device_id"], top["max"]) == ("2026-02", devices["CT-A"], 99.0)
        assert top["median"] == pytest.approx(float(np.median(february)))  # against numpy, from the records


def test_compliance_pages_counts_and_statuses_equal_the_whole_compliance(sessions, generated):  # noqa: F811
    records, thorax, devices = generated
    with sessions() as s, s.begin():
        states.mark_months_stale(s)
        while refresher.refresh(s):
            pass
    _store(sessions, [ct_study("2026-03-14", "CT-B", "Thorax Routine", [40.0], [1500.0], description="CT Thorax")])
    quarter = tables.Filters(dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    with sessions() as s:
        for filters, period in ((tables.Filters(), "month"), (quarter, "quarter"), (tables.Filters(), "all")):
            whole = compliance.compliance(s, filters, period)
            assert whole
            for statuses in ((), ("red",), ("amber", "green")):
                wanted = [r for r in whole if not statuses or r["status"] in statuses]
                for sort in pages.COMPLIANCE_SORTS:
                    for order in ("asc", "desc"):
                        read = lambda p: pages.compliance_page(s, filters, period, None, statuses, p)  # noqa: E731
                        rows, totals = _every_page(read, sort, order)
                        assert totals == {len(wanted)}, (period, statuses, sort, order)
                        assert sorted(map(_identity, rows)) == sorted(map(_identity, wanted))
                        assert _in_order(rows, _column(sort, devices), order), (sort, order)
                counts = pages.compliance_page(s, filters, period, None, statuses, pages.Page(1))[2]
                assert counts == {st: Counter(r["status"] for r in wanted)[st] for st in compliance.STATUSES}
            # the default order is the whole compliance's: worst status first, then the highest median / DRL
            first = pages.compliance_page(s, filters, period, None, (), pages.Page(len(whole), 0, "status", "asc"))[0]
            assert [_identity(r) for r in first] == [_identity(r) for r in whole]
