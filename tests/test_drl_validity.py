"""DRLs compared by the date they were in force, and achievable doses beside them (statistics, study answers, alerts).

Generated CT studies through the real ingest path on SQLite and PostgreSQL; each expectation is worked out here
from the generated values and the levels set up, not taken from Kerma's output.
"""

import datetime as dt
import itertools
import statistics

import pytest
from sqlalchemy import select

from kerma.api import Context, Request, handle
from kerma.classify.catalogue import add_site_exam
from kerma.db import states
from kerma.db.models import Alert, AlertRule, DrlSet, DrlValue, MappingRule, Study, StudyAboveDrl
from kerma.evaluate.rules import validated
from kerma.evaluate.shipped import load_shipped_rules
from kerma.ingest.store import Processed, store_batch
from kerma.stats import monthly, refresher, tables
from records_factory import ct_study

_seq = itertools.count(1)
OLD, NEW, ACHIEVABLE = 500.0, 300.0, 350.0  # DLP levels: the old DRL until 31 March 2026, the new one from 1 April


def store(sessions, *records):
    with sessions() as s, s.begin():
        store_batch(s, [Processed(next(_seq), f"id-{next(_seq)}", r) for r in records], last_seq=next(_seq))


def api(sessions, path, **query):
    status, answer = handle(Context(sessions), Request("GET", path, query))
    assert status == 200, answer
    return answer


@pytest.fixture
def exam(sessions):
    """A CT head exam with the DRL changed on 1 April 2026, an achievable dose, and a rule alerting above 1 × DRL."""
    with sessions() as s, s.begin():
        load_shipped_rules(s)
        exam = add_site_exam(s, "CT-HEAD-V", "CT head", "CT")
        s.add(MappingRule(level="exam", priority=1, standard_exam_id=exam.id,
                          conditions=[{"field": "study_description", "op": "contains", "value": "head"}]))
        for name, kind, value, start, end in (("Local 2025", "local", OLD, None, dt.date(2026, 3, 31)),
                                              ("Local 2026", "local", NEW, dt.date(2026, 4, 1), None),
                                              ("Achievable 2025", "achievable", ACHIEVABLE, None, None)):
            s.add(DrlSet(name=name, kind=kind, valid_from=start, valid_to=end, enabled=True, values=[DrlValue(
                standard_exam_id=exam.id, patient_group="adult", quantity="total_dlp_mGycm", level="exam", value=value)]))
        s.add(AlertRule(**validated({"name": "above the DRL", "kind": "drl", "level": "exam", "parameters": {"k": 1.0}}),
                        version=1))
        return exam.id


def head(day: str, dlp: float) -> dict:
    return ct_study(day, "CT-V1", "Head", [dlp / 10], [dlp], description="CT head")


def test_each_study_meets_the_drl_in_force_on_its_date(sessions, exam):
    march, april = head("2026-03-15", 400.0), head("2026-04-15", 400.0)  # below the old DRL, above the new one
    store(sessions, march, april)

    with sessions() as s:
        (hit,) = tables.above_drl(s, "total_dlp_mGycm", tables.Filters())
        assert hit["study_instance_uid"] == april.study_instance_uid
        assert (hit["drl"], hit["drl_set"], hit["drl_valid_from"]) == (NEW, "Local 2026", "2026-04-01")
        assert hit["achievable"] == ACHIEVABLE

        # a year spanning the change: one row under each DRL, each with the achievable dose beside it
        rows = tables.median_table(s, "total_dlp_mGycm", tables.Filters(), "year")
        assert sorted((r["period"], r["n"], r["drl"]["value"], r["drl"]["set"]) for r in rows) == [
            ("2026", 1, NEW, "Local 2026"), ("2026", 1, OLD, "Local 2025")]
        for row in rows:
            assert row["median_above_drl"] == (400.0 > row["drl"]["value"])
            assert row["achievable"]["value"] == ACHIEVABLE and row["median_below_achievable"] is False
            assert row["median_over_achievable"] == pytest.approx(400.0 / ACHIEVABLE)

        # the kept month table says the same
        states.mark_months_stale(s)
        while refresher.refresh(s):
            pass
        kept = tables.median_table(s, "total_dlp_mGycm", tables.Filters(), "month")
        assert monthly.read(s, "total_dlp_mGycm", tables.Filters())[1] == set()  # read kept, nothing stale
        assert kept == tables.computed_table(s, "total_dlp_mGycm", tables.Filters(), "month")
        assert {(r["period"], r["drl"]["value"], r["achievable"]["value"]) for r in kept} == {
            ("2026-03", OLD, ACHIEVABLE), ("2026-04", NEW, ACHIEVABLE)}

        rule = s.scalars(select(AlertRule).where(AlertRule.name == "above the DRL")).one()
        (alert,) = s.scalars(select(Alert).where(Alert.rule_id == rule.id)).all()
        assert alert.study_instance_uid == april.study_instance_uid
        assert alert.reference["drl"] == NEW and alert.reference["drl_valid_from"] == "2026-04-01"

        # the studies above their DRL kept with it: April's total, over the new DRL
        (kept_above,) = s.scalars(select(StudyAboveDrl)).all()
        assert (s.get(Study, kept_above.study_id).study_instance_uid,
                kept_above.quantity, kept_above.value, kept_above.drl, kept_above.ratio, str(kept_above.day)) == (
            april.study_instance_uid, "total_dlp_mGycm", 400.0, NEW, pytest.approx(400.0 / NEW), "2026-04-15")
        s.commit()

    # the list reads the kept rows of the fresh months and compares the rows of the stale ones: the same answer with
    # every month fresh, March stale (April's study kept), then April stale too (compared)
    for stale in ([], [dt.date(2026, 3, 15)], [dt.date(2026, 4, 15)]):
        with sessions() as s, s.begin():
            states.mark_months_stale(s, stale)
        listed = api(sessions, "studies", above_drl="1")  # only April's study is above its DRL
        assert (listed["total"], [r["study_instance_uid"] for r in listed["studies"]]) == (1, [april.study_instance_uid])
        assert [(a["quantity"], a["value"], a["drl"]) for a in listed["studies"][0]["above_drl"]] == [
            ("total_dlp_mGycm", 400.0, NEW)]
        assert api(sessions, "studies", above_drl="1", date_to="2026-04-14")["total"] == 0
        assert api(sessions, "studies", above_drl="1", date_from="2026-04-15", date_to="2026-04-15")["total"] == 1

    page = api(sessions, f"studies/{march.study_instance_uid}")
    (exam_level,) = [r for r in page["reference_levels"] if r["level"] == "exam"]
    assert exam_level["value"] == 400.0 and exam_level["drl"]["value"] == OLD and exam_level["drl"]["set"] == "Local 2025"
    assert exam_level["value_above_drl"] is False and exam_level["achievable"]["value"] == ACHIEVABLE


def test_alert_rules_watch_the_median_against_the_achievable_dose(sessions, exam):
    with sessions() as s:
        codes = {r.code: r.id for r in s.scalars(select(AlertRule).where(AlertRule.kind == "achievable"))}
    assert set(codes) == {"kerma:achievable-above", "kerma:achievable-below"}

    def fired(code):
        with sessions() as s:
            return [(a.study_instance_uid, a.value, a.threshold) for a in
                    s.scalars(select(Alert).where(Alert.rule_id == codes[code]).order_by(Alert.id))]

    good = [head(f"2026-05-{day:02d}", dlp) for day, dlp in zip(range(1, 8), (200, 210, 190, 220, 205, 215, 195))]
    for study in good:
        store(sessions, study)
    # from the 5th examination on (min_exams) the median is below the achievable dose: a positive signal, once
    assert fired("kerma:achievable-below") == [(good[4].study_instance_uid, statistics.median([200, 210, 190, 220, 205]),
                                                ACHIEVABLE)]
    assert fired("kerma:achievable-above") == []

    high = [head(f"2026-06-{day:02d}", 600.0) for day in range(1, 9)]
    for study in high:
        store(sessions, study)
    # 7 good + 6 high: the median of 13 is still a good one (220); 7 + 7 high: the median of 14 is (220 + 600) / 2
    (above,) = fired("kerma:achievable-above")  # and not again on the 8th, while the state lasts
    assert above[0] == high[6].study_instance_uid and above[1] == pytest.approx((220 + 600) / 2)


def test_the_sql_level_is_the_level_found_row_by_row(database_url):
    """``LevelIndex.value_sql`` (the database compares millions of rows) picks what ``find`` picks, on each engine:
    adults, a weight band and an age band of children, sets ending and starting, rows without age, weight or date."""
    from sqlalchemy import Date, Float, Integer, cast, create_engine, literal

    from kerma.drl.sets import Level, LevelIndex

    levels = [Level(1, "old", "local", 7, "ctdivol_mGy", "exposure", 30.0, "adult", None, None, None, None, None, dt.date(2026, 3, 31)),
              Level(2, "new", "local", 7, "ctdivol_mGy", "exposure", 20.0, "adult", None, None, None, None, dt.date(2026, 4, 1), None),
              Level(3, "new", "local", 7, "ctdivol_mGy", "exposure", 8.0, "paediatric", None, None, 15.0, 30.0, dt.date(2026, 4, 1), None),
              Level(4, "nat", "national", 7, "ctdivol_mGy", "exposure", 12.0, "paediatric", 1.0, 5.0, None, None, None, None),
              Level(5, "nat", "national", 8, "ctdivol_mGy", "exposure", 50.0, "adult", 18.0, None, None, None, None, None)]
    index = LevelIndex(levels)
    engine = create_engine(database_url)
    cases = list(itertools.product((7, 8, 9), (None, 0.5, 3.0, 16.0, 40.0), (None, 10.0, 20.0, 70.0),
                                   (None, dt.date(2026, 3, 31), dt.date(2026, 4, 1))))
    with engine.connect() as conn:
        for exam_id, age, weight, day in cases:
            found = index.find(exam_id, "ctdivol_mGy", age, weight, day)
            # PostgreSQL needs the type of a NULL parameter; SQLite's CAST(... AS DATE) would make a number of a date
            typed = [literal(v, t) if engine.dialect.name == "sqlite" else cast(literal(v, t), t)
                     for v, t in ((exam_id, Integer), (age, Float), (weight, Float), (day, Date))]
            sql = index.value_sql("ctdivol_mGy", *typed), index.level_sql("ctdivol_mGy", *typed, "id")
            assert tuple(conn.execute(select(*sql)).one()) == ((found.value, found.id) if found else (None, None)), \
                (exam_id, age, weight, day)
    engine.dispose()
