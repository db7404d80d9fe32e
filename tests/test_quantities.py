"""The one vocabulary (kerma/quantities.py, data/quantities.csv): the table against the code that stores and reads
quantities, GET quantities, and a quantity added as one row reaching storage, statistics, the month table,
alerts and exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from dataclasses import replace

import pytest
from sqlalchemy import Float, select

from kerma import quantities
from kerma.api import Answer, Context, Request, handle
from kerma.config import Settings
from kerma.db import states
from kerma.db.engine import make_engine, make_sessionmaker
from kerma.db.models import EVENT_FIELDS, IrradiationEvent, Study
from kerma.db.schema import upgrade
from kerma.extract import plausible
from kerma.ingest.store import Processed, store_batch
from kerma.stats import monthly, refresher
from kerma.stats.tables import Filters
from records_factory import ct_study

# the unit a key's name ends in (units are in field names), and the unit the table must give it
NAME_UNITS = {"_mg_per_kg": "mg/kg", "_mg_per_mL": "mg/mL", "_mL": "mL", "_mg": "mg", "_mGy_per_mAs": "mGy/mA.s", "_mGycm": "mGy.cm", "_Gycm2": "Gy.cm2", "_mGy": "mGy", "_mSv": "mSv", "_MBq": "MBq", "_mAs": "mA.s",
              "_mA": "mA", "_ms": "ms", "_s": "s", "_mm": "mm", "_deg": "deg", "_cm2": "cm2", "_N": "N", "_kg": "kg",
              "_m": "m", "_g": "g", "_years": "a", "kvp": "kV"}


def test_every_key_carries_its_unit_in_its_name():
    for q in quantities.table().values():
        suffix = next((s for s in NAME_UNITS if q.key.endswith(s)), None)
        if suffix is not None:
            assert q.unit == NAME_UNITS[suffix], q.key
        else:  # pure numbers (counts, indices, ratios) and rates
            assert q.unit in ("1", "/s"), q.key


def test_every_row_is_complete():
    for q in quantities.table().values():
        assert q.label and q.description.endswith(".") and q.decimals >= 0, q.key
        assert q.kind in ("dose", "technique", "geometry", "time", "count", "patient", "contrast"), q.key
        assert (q.aggregate in ("sum", "max")) == (q.level != quantities.PATIENT), q.key
        assert (q.record_total is not None) == (q.level == quantities.EXAM), q.key
        if q.level == quantities.EXAM:
            assert q.record_total in quantities.table(), q.key


def test_statistics_read_the_columns_that_exist():
    """A quantity kept in a column names a Float column of its row; every measured event column is a quantity."""
    for q in quantities.exposure_quantities():
        if q.statistics == quantities.COLUMN:
            assert isinstance(IrradiationEvent.__table__.c[q.key].type, Float), q.key
    for q in quantities.exam_quantities():
        if q.statistics == quantities.COLUMN:
            assert isinstance(Study.__table__.c[q.key].type, Float), q.key
    measured = {name for name, is_measurement in EVENT_FIELDS.items() if is_measurement}
    assert measured == {q.key for q in quantities.exposure_quantities() if q.statistics == quantities.COLUMN}


def test_the_summarised_and_reported_quantities_are_statistics():
    assert {q.key for q in quantities.summarised()} >= {"ctdivol_mGy", "total_dlp_mGycm", "total_dap_Gycm2"}
    assert {q.key for q in quantities.reported()} == {"total_dlp_mGycm", "ctdivol_mGy", "total_dap_Gycm2", "dap_Gycm2",
                                                     "agd_mGy", "total_activity_MBq", "psd_mGy"}
    assert quantities.level_of("ctdivol_mGy") == "exposure" and quantities.level_of("total_dlp_mGycm") == "exam"
    for name in ("ct_dlp_total_mGycm", "weight_kg", "vendor_exposure_indicator", "no_such_mGy"):
        with pytest.raises(quantities.UnknownQuantity):
            quantities.level_of(name)


# --- a quantity added as one row -----------------------------------------------------------------------

EXTRA_ROWS = [
    # an event value kept in the event's details, and an exam total kept in the study's resolved totals
    {"key": "test_quantity_mGy", "label": "test quantity", "unit": "mGy", "unit_display": "mGy", "level": "exposure",
     "families": "CT", "kind": "dose", "aggregate": "max", "decimals": "2", "statistics": "details", "summarised": "yes",
     "description": "A made-up quantity of the test.", "source": "tests/test_quantities.py"},
    {"key": "total_test_quantity_mGy", "label": "test total", "unit": "mGy", "unit_display": "mGy", "level": "exam",
     "families": "CT", "kind": "dose", "aggregate": "sum", "decimals": "2", "statistics": "details",
     "record_total": "test_quantity_total_mGy", "description": "A made-up study total of the test.", "source": ""},
    {"key": "test_quantity_total_mGy", "label": "test total", "unit": "mGy", "unit_display": "mGy", "level": "report",
     "families": "CT", "kind": "dose", "aggregate": "sum", "decimals": "2", "description": "A made-up report total.",
     "source": "", "plausible_min": "0", "plausible_max": "1000", "plausible_reason": "a made-up bound"},
]


@pytest.fixture
def extra_quantities(tmp_path, monkeypatch):
    """The shipped table with the test's rows added: nothing else is changed."""
    text = quantities.TABLE.read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if not line.startswith("#")).split(",")
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=header, lineterminator="\n").writerows(EXTRA_ROWS)
    table = tmp_path / "quantities.csv"
    table.write_text(text + buffer.getvalue(), encoding="utf-8")
    monkeypatch.setattr(quantities, "TABLE", table)
    quantities.reload()
    yield
    monkeypatch.undo()
    quantities.reload()


_seq = itertools.count(1)


@pytest.fixture
def api(database_url, tmp_path):
    upgrade(database_url)
    engine = make_engine(database_url)
    ctx = Context(make_sessionmaker(engine),
                  settings=replace(Settings.defaults(), pseudonymisation_key_file=str(tmp_path / "kerma.key")))

    def call(method, path, query=None, body=None):
        status, answer = handle(ctx, Request(method, path, query or {}, body, "physicist", roles=frozenset({"admin"})))
        assert status == 200, answer
        return answer

    yield ctx, call
    engine.dispose()


def test_get_quantities_gives_labels_units_and_descriptions(api):
    _, call = api
    rows = {q["key"]: q for q in call("GET", "quantities")["quantities"]}
    assert list(rows) == list(quantities.table())
    dlp = rows["total_dlp_mGycm"]
    assert (dlp["label"], dlp["unit"], dlp["unit_display"], dlp["level"], dlp["families"], dlp["aggregate"]) == (
        "DLP", "mGy.cm", "mGy·cm", "exam", ["CT"], "sum")
    assert dlp["statistic"] and dlp["summarised"] and dlp["record_total"] == "ct_dlp_total_mGycm" and dlp["description"]
    assert (rows["ctdivol_mGy"]["plausible"]["min"], rows["ctdivol_mGy"]["plausible"]["max"]) == (0, 10000)
    assert "not the dose to this patient" in rows["ctdivol_mGy"]["description"]
    assert not rows["ct_dlp_total_mGycm"]["statistic"] and rows["ct_dlp_total_mGycm"]["level"] == "report"
    exam = call("GET", "quantities", {"level": "exam"})["quantities"]
    assert {q["key"] for q in exam} == {q.key for q in quantities.of_level("exam")}
    usable = call("GET", "quantities", {"statistic": "1"})["quantities"]
    assert {q["level"] for q in usable} == {"exam", "exposure"} and all(q["statistic"] for q in usable)


def test_a_quantity_added_as_one_row_is_stored_counted_exported_and_checked(api, extra_quantities):
    ctx, call = api
    rule = call("POST", "alerts/rules", body={"name": "test quantity over 5", "kind": "absolute",
                                              "quantity": "test_quantity_mGy", "parameters": {"threshold": 5.0},
                                              "notify_roles": ["mpe"]})
    assert rule["level"] == "exposure"
    records = [ct_study(f"2026-03-0{day}", "CT-A", "Abdomen", [10.0, 12.0], [400.0, 300.0]) for day in (2, 3)]
    records = [replace(record, events=tuple(e.changed(test_quantity_mGy=v) for e, v in zip(record.events, values)),
                       totals=record.totals.changed(test_quantity_total_mGy=sum(values)))
               for record, values in zip(records, ([4.0, 6.0], [7.0, 3.0]))]
    with ctx.sessions() as s, s.begin():
        store_batch(s, [Processed(next(_seq), f"id-{next(_seq)}", r) for r in records], last_seq=next(_seq))

    # storage: in the event rows' details (no column, no migration)
    with ctx.sessions() as s:
        stored = sorted(e.details["test_quantity_mGy"] for e in s.scalars(select(IrradiationEvent)))
    assert stored == [3.0, 4.0, 6.0, 7.0]

    # statistics at both levels
    (row,) = call("GET", "statistics", {"quantity": "test_quantity_mGy", "period": "all"})["statistics"]
    assert (row["n"], row["median"], row["min"], row["max"]) == (4, 5.0, 3.0, 7.0)
    answer = call("GET", "statistics", {"quantity": "total_test_quantity_mGy", "period": "all"})
    assert answer["level"] == "exam" and [r["n"] for r in answer["statistics"]] == [2]

    # the month table keeps it (summarised) and answers a month-aligned range with the same figures
    with ctx.sessions() as s, s.begin():
        states.mark_months_stale(s)
        while refresher.refresh(s):
            pass
    with ctx.sessions() as s:
        kept, stale = monthly.read(s, "test_quantity_mGy", Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    assert stale == set()
    assert [(group[2], r["n"], r["median"], r["max"]) for group, r in kept] == [("2026-03", 4, 5.0, 7.0)]

    # the events export carries it as a column
    export = call("GET", "events", {"format": "csv"})
    assert isinstance(export, Answer)
    assert sorted(float(r["test_quantity_mGy"]) for r in csv.DictReader(io.StringIO(export.text))) == stored

    # an alert rule on it fires with its unit, once per event above the threshold
    alerts = call("GET", "alerts")["alerts"]
    assert sorted(a["value"] for a in alerts) == [6.0, 7.0] and {a["unit"] for a in alerts} == {"mGy"}
    assert all("test quantity" in a["reason"] for a in alerts)

    # GET quantities lists it
    listed = {q["key"]: q for q in call("GET", "quantities")["quantities"]}
    assert listed["test_quantity_mGy"]["label"] == "test quantity" and listed["test_quantity_mGy"]["statistic"]
    assert listed["test_quantity_total_mGy"]["plausible"]["reason"] == "a made-up bound"

    # and the extractor's plausibility screen refuses what its row says no device can give
    warnings = []
    totals = {"test_quantity_total_mGy": 1e6}
    (refusal,) = plausible.screen(totals, warnings)
    assert totals["test_quantity_total_mGy"] is None and refusal.dose and "a made-up bound" in warnings[0]
