"""Statistics per standard exam × device × period, checked against numpy on the generated values; DRLs."""

import datetime as dt
import random
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import select

from corpus import CORPUS
from kerma.classify.apply import remap_history
from kerma.classify.catalogue import add_site_exam
from kerma.db.models import Device, DrlSet, DrlValue, MappingRule
from kerma.drl.reference import VERIFIED
from kerma.drl.sets import active_levels, load_reference_table, load_table
from kerma.ingest.store import Processed, store_batch
from kerma.stats import compliance, tables
from kerma.stats.summary import summarize
from records_factory import ct_study, dx_study

REFERENCE = CORPUS.parent / "reference" / "drl_reference_levels.csv"


def _store(sessions, records):
    with sessions() as s, s.begin():
        store_batch(s, [Processed(i + 1, f"id-{i}", r) for i, r in enumerate(records)], last_seq=len(records))


def _reference(values):
    a = np.array(values, dtype=float)
    return {"n": len(a), "median": float(np.median(a)), "mean": float(a.mean()), "min": float(a.min()), "max": float(a.max()),
            "sd": float(a.std(ddof=1)) if len(a) > 1 else None, "p25": float(np.percentile(a, 25)),
            "p75": float(np.percentile(a, 75))}


@pytest.mark.parametrize("n", [1, 2, 7, 10, 11])
def test_summary_matches_numpy_for_even_and_odd_counts(n):
    values = [random.Random(n).uniform(1, 30) for _ in range(n)]
    got = summarize(values)
    for name, want in _reference(values).items():
        assert got[name] == pytest.approx(want) if want is not None else got[name] is None


def test_shipped_drls_carry_their_source_and_unverified_rows_stay_off(sessions):
    with sessions() as s, s.begin():
        assert load_table(s) == 77
        values = s.scalars(select(DrlValue)).all()
        assert all(v.source and v.verification in VERIFIED and v.enabled for v in values)
        assert load_table(s) == 0  # loading twice adds nothing
    with sessions() as s, s.begin():
        added = load_reference_table(s, REFERENCE)  # the whole reference table, secondary transcriptions included
        assert added > 0
        unverified = s.scalars(select(DrlValue).where(DrlValue.verification.not_in(VERIFIED))).all()
        assert unverified and not any(v.enabled for v in unverified)
        active_ids = {level.id for level in active_levels(s)}
        assert not active_ids & {v.id for v in unverified}
        superseded = s.scalars(select(DrlSet).where(DrlSet.status != "current")).all()
        assert superseded and not any(x.enabled for x in superseded)


@pytest.fixture
def generated(sessions):
    """Two CT devices, two protocols, three months, adults and children; random but reproducible."""
    rng = random.Random(20261126)
    records = []
    for month in (1, 2, 3):
        for station in ("CT-A", "CT-B"):
            for i in range(rng.randint(5, 9)):
                child = i % 4 == 0
                n_events = rng.randint(1, 3)
                ctdis = [round(rng.uniform(5, 25) * (0.4 if child else 1), 3) for _ in range(n_events)]
                dlps = [round(c * rng.uniform(20, 45), 2) for c in ctdis]
                records.append(ct_study(f"2026-{month:02d}-{rng.randint(1, 28):02d}", station,
                                        rng.choice(["Thorax Routine", "THORAX ROUTINE "]), ctdis, dlps,
                                        age=7.0 if child else 55.0, weight=25.0 if child else 80.0, description="CT Thorax"))
    for day in range(1, 6):
        records.append(dx_study(f"2026-01-{day:02d}", "DX-1", "Chest PA", round(0.05 * day, 3)))
    _store(sessions, records)
    with sessions() as s, s.begin():
        thorax = add_site_exam(s, "CT-THX", "CT Thorax", "CT")
        chest = add_site_exam(s, "DX-CHEST", "Chest PA", "DX")
        s.add(MappingRule(level="exposure", priority=10, modality="CT", standard_exam_id=thorax.id,
                          conditions=[{"field": "protocol", "op": "contains", "value": "thorax"}]))
        s.add(MappingRule(level="exam", priority=10, standard_exam_id=thorax.id,
                          conditions=[{"field": "study_description", "op": "equals", "value": "CT Thorax"}]))
        s.add(MappingRule(level="exposure", priority=10, modality="DX", standard_exam_id=chest.id,
                          conditions=[{"field": "protocol", "op": "equals", "value": "Chest PA"}]))
        s.flush()
        remap_history(s)
        local = DrlSet(name="Local 2026", kind="local", enabled=True)
        local.values = [
            DrlValue(standard_exam_id=thorax.id, patient_group="adult", quantity="ctdivol_mGy", level="exposure", value=15.0),
            DrlValue(standard_exam_id=thorax.id, patient_group="paediatric", weight_min_kg=15, weight_max_kg=30,
                     quantity="ctdivol_mGy", level="exposure", value=6.0),
            DrlValue(standard_exam_id=thorax.id, patient_group="adult", quantity="total_dlp_mGycm", level="exam", value=700.0),
        ]
        s.add(local)
        devices = {d.station_name: d.id for d in s.scalars(select(Device))}
    return records, thorax.id, devices


def _month(day: str) -> str:
    return day[:7]


def test_median_table_per_exam_device_month_and_drl_band(sessions, generated):
    records, thorax, devices = generated
    with sessions() as s:
        table = tables.median_table(s, "ctdivol_mGy", tables.Filters(modality="CT"), "month")
    expected: dict = {}
    for r in records:
        if r.modality != "CT":
            continue
        band = "paediatric" if r.patient.age_years < 16 else "adult"
        key = (devices[r.device.station_name], _month(r.study.study_date), band)
        expected.setdefault(key, []).extend(e["ctdivol_mGy"] for e in r.events)
    got = {(row["device_id"], row["period"], row["drl"]["patient_group"]): row for row in table}
    assert set(got) == set(expected)
    for key, values in expected.items():
        row = got[key]
        assert row["standard_exam_id"] == thorax
        for name, want in _reference(values).items():
            assert row[name] == pytest.approx(want) if want is not None else row[name] is None, (key, name)
        drl = 15.0 if key[2] == "adult" else 6.0
        assert row["drl"]["value"] == drl
        assert row["median_above_drl"] == (float(np.median(values)) > drl)


def test_exam_level_and_exposure_level_drls(sessions, generated):
    records, thorax, devices = generated
    with sessions() as s:
        exam_table = tables.median_table(s, "total_dlp_mGycm", tables.Filters(), "all", by_device=False)
        above_exam = tables.above_drl(s, "total_dlp_mGycm", tables.Filters())
        above_exposure = tables.above_drl(s, "ctdivol_mGy", tables.Filters())
    adults = [r for r in records if r.modality == "CT" and r.patient.age_years >= 16]
    children = [r for r in records if r.modality == "CT" and r.patient.age_years < 16]
    (adult_row,) = [row for row in exam_table if row["drl"]]
    assert adult_row["n"] == len(adults)
    assert adult_row["median"] == pytest.approx(float(np.median([r.totals["ct_dlp_total_mGycm"] for r in adults])))
    (no_drl_row,) = [row for row in exam_table if not row["drl"]]  # children have no exam-level DRL here
    assert no_drl_row["n"] == len(children)
    assert {h["study_instance_uid"] for h in above_exam} == {
        r.study_instance_uid for r in adults if r.totals["ct_dlp_total_mGycm"] > 700.0}
    expected_events = sum(1 for r in adults for e in r.events if e["ctdivol_mGy"] > 15.0) + sum(
        1 for r in children for e in r.events if e["ctdivol_mGy"] > 6.0)
    assert len(above_exposure) == expected_events
    assert all(h["value"] > h["drl"] for h in above_exposure)


@pytest.mark.parametrize(("median", "p75", "drl", "status"), [
    (16.0, 20.0, 15.0, "red"), (15.0, 20.0, 15.0, "amber"), (12.0, 15.0, 15.0, "green"), (12.0, 15.1, 15.0, "amber")])
def test_compliance_status_compares_the_median_then_the_75th_percentile(median, p75, drl, status):
    assert compliance.status(median, p75, drl) == status


@pytest.mark.parametrize(("key", "first", "last"), [
    ("2026-Q4", "2026-10-01", "2026-12-31"), ("2024-02", "2024-02-01", "2024-02-29"), ("2025", "2025-01-01", "2025-12-31"),
    ("2026-12", "2026-12-01", "2026-12-31"), ("all", None, None)])
def test_period_bounds(key, first, last):
    bounds = compliance.period_bounds(key)
    assert bounds == (first and dt.date.fromisoformat(first), last and dt.date.fromisoformat(last))


def test_drl_compliance_per_exam_device_quarter_and_band(sessions, generated):
    """Every exam × device × band with a DRL: n, median and 75th percentile from numpy on the records, the status from
    those numbers and the DRL; worst status first; the quarter's bounds cut to the filters' dates."""
    records, thorax, devices = generated
    with sessions() as s:
        rows = compliance.compliance(s, tables.Filters(dt.date(2026, 1, 10), dt.date(2026, 3, 31)), "quarter")
    expected: dict = {}
    for r in records:
        if r.modality != "CT" or r.study.study_date < "2026-01-10":
            continue
        adult = r.patient.age_years >= 16
        key = (devices[r.device.station_name], "adult" if adult else "paediatric")
        expected.setdefault(("ctdivol_mGy", *key), []).extend(e["ctdivol_mGy"] for e in r.events)
        if adult:  # the exam-level DRL is for adults only
            expected.setdefault(("total_dlp_mGycm", *key), []).append(r.totals["ct_dlp_total_mGycm"])
    drls = {("ctdivol_mGy", "adult"): 15.0, ("ctdivol_mGy", "paediatric"): 6.0, ("total_dlp_mGycm", "adult"): 700.0}
    got = {(row["quantity"], row["device_id"], row["patient_group"]): row for row in rows}
    assert set(got) == set(expected)
    for key, values in expected.items():
        row, drl = got[key], drls[(key[0], key[2])]
        median, p75 = float(np.median(values)), float(np.percentile(values, 75))
        assert (row["n"], row["median"], row["p75"], row["drl"]["value"]) == (len(values), pytest.approx(median), pytest.approx(p75), drl)
        assert row["few_values"] == (len(values) < 20)
        assert row["median_over_drl"] == pytest.approx(median / drl) and row["p75_over_drl"] == pytest.approx(p75 / drl)
        assert row["status"] == ("red" if median > drl else "amber" if p75 > drl else "green"), key
        assert (row["standard_exam_id"], row["period"], row["period_from"], row["period_to"]) == (
            thorax, "2026-Q1", "2026-01-10", "2026-03-31")
    ranks = [compliance.STATUSES.index(r["status"]) for r in rows]
    assert ranks == sorted(ranks)


def test_esr_tables(sessions, generated):
    records, thorax, devices = generated
    with sessions() as s:
        inventory = {d["station_name"]: d for d in tables.device_inventory(s)}
        per_device = tables.examinations_per_device(s, tables.Filters(), "quarter")
    assert set(inventory) == {"CT-A", "CT-B", "DX-1"}
    assert inventory["DX-1"]["studies"] == 5
    count_a = sum(1 for r in records if r.device.station_name == "CT-A")
    (row_a,) = [r for r in per_device if r["device_id"] == devices["CT-A"]]
    assert row_a["period"] == "2026-Q1" and row_a["examinations"] == count_a
    assert row_a["series"] == count_a  # one RDSR per study
    assert row_a["protocols"] == dict(Counter(r.events[0]["protocol"] for r in records
                                              if r.device.station_name == "CT-A"))
    assert row_a["procedures"] == {"CT Thorax": count_a} and row_a["body_regions"] == {}
    with sessions() as s:
        by_month = tables.examinations_per_device(s, tables.Filters(date_from=dt.date(2026, 2, 1)), "month")
    assert {(r["device_id"], r["period"]): r["examinations"] for r in by_month} == dict(Counter(
        (devices[r.device.station_name], r.study.study_date[:7]) for r in records
        if r.study.study_date >= "2026-02-01"))


def _same_table(kept: list[dict], computed: list[dict]) -> bool:
    """Row by row: identical keys and groups, figures equal to floating-point rounding (sums in another order)."""
    assert len(kept) == len(computed)
    for a, b in zip(kept, computed):
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], float):
                assert a[key] == pytest.approx(b[key], rel=1e-12), key
            else:
                assert a[key] == b[key], key
    return True


def test_kept_month_table_equals_the_table_from_the_rows_and_follows_new_data(sessions, generated):
    from kerma.db import states
    from kerma.stats import monthly, refresher

    records, thorax, devices = generated
    with sessions() as s, s.begin():
        states.mark_months_stale(s)
        kept, stale = monthly.read(s, "ctdivol_mGy", tables.Filters())  # every month stale: the rows answer
        assert kept == [] and stale == {"2026-01", "2026-02", "2026-03"}
        while refresher.refresh(s):
            pass
    for quantity in ("ctdivol_mGy", "total_dlp_mGycm", "dap_Gycm2"):
        with sessions() as s:
            assert monthly.read(s, quantity, tables.Filters())[1] == set()
            kept = tables.median_table(s, quantity, tables.Filters())
            computed = tables.computed_table(s, quantity, tables.Filters())
        assert _same_table(kept, computed), quantity
        assert kept and sum(r["n"] for r in kept) == sum(r["n"] for r in computed)
    for period in ("month", "quarter", "year"):  # quarters and years are kept rows of their own, and the trend's
        for by_device in (True, False):          # table of every device together
            with sessions() as s:
                assert monthly.read(s, "ctdivol_mGy", tables.Filters(), period, by_device)[1] == set()
                kept = tables.median_table(s, "ctdivol_mGy", tables.Filters(), period, by_device)
                assert _same_table(kept, tables.computed_table(s, "ctdivol_mGy", tables.Filters(), period, by_device))
    with sessions() as s:  # the examinations per device summed from the kept months, against the generated studies
        assert monthly.read_counts(s, tables.Filters(dt.date(2026, 1, 1), dt.date(2026, 3, 31))) is not None
        per_quarter = tables.examinations_per_device(s, tables.Filters(dt.date(2026, 1, 1), dt.date(2026, 3, 31)), "quarter")
        assert monthly.read(s, "ctdivol_mGy", tables.Filters(dt.date(2026, 1, 1), dt.date(2026, 3, 31)), "quarter")
        assert monthly.read(s, "ctdivol_mGy", tables.Filters(dt.date(2026, 1, 1), dt.date(2026, 2, 28)), "quarter") is None
        assert monthly.read(s, "ctdivol_mGy", tables.Filters(), "all") is None  # computed from the rows
    by_station = Counter(r.device.station_name for r in records)
    assert {r["device_id"]: (r["period"], r["examinations"], r["series"]) for r in per_quarter} == {
        devices[station]: ("2026-Q1", n, n) for station, n in by_station.items()}  # one report per study
    (row_a,) = [r for r in per_quarter if r["device_id"] == devices["CT-A"]]
    assert row_a["protocols"] == dict(Counter(r.events[0]["protocol"] for r in records
                                              if r.device.station_name == "CT-A"))
    with sessions() as s:  # a month-aligned range is served too, a day range is computed
        assert monthly.read(s, "ctdivol_mGy", tables.Filters(dt.date(2026, 2, 1), dt.date(2026, 2, 28))) is not None
        assert monthly.read(s, "ctdivol_mGy", tables.Filters(dt.date(2026, 2, 2), dt.date(2026, 2, 28))) is None
    # a new study in February makes February, its quarter and its year stale until they are recomputed: a request
    # computes those from the rows and reads the others kept
    _store(sessions, [ct_study("2026-02-14", "CT-A", "Thorax Routine", [99.0], [3000.0], description="CT Thorax")])
    with sessions() as s, s.begin():
        assert monthly.read(s, "ctdivol_mGy", tables.Filters())[1] == {"2026-02"}
        assert monthly.read(s, "ctdivol_mGy", tables.Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))[1] == set()
        assert monthly.read(s, "ctdivol_mGy", tables.Filters(), "quarter", False)[1] == {"2026-Q1"}
        assert monthly.read(s, "ctdivol_mGy", tables.Filters(), "year")[1] == {"2026"}
        assert monthly.read_counts(s, tables.Filters())[1] == {"2026-02"}
        for period, by_device in (("month", True), ("quarter", False)):
            mixed = tables.median_table(s, "ctdivol_mGy", tables.Filters(), period, by_device)
            assert _same_table(mixed, tables.computed_table(s, "ctdivol_mGy", tables.Filters(), period, by_device))
            assert max(r["max"] for r in mixed) == 99.0
        counts = tables.examinations_per_device(s, tables.Filters(), "quarter")
        assert sum(r["examinations"] for r in counts) == len(records) + 1
        while refresher.refresh(s):
            pass
    with sessions() as s:
        kept = tables.median_table(s, "ctdivol_mGy", tables.Filters())
        assert _same_table(kept, tables.computed_table(s, "ctdivol_mGy", tables.Filters()))
        assert max(r["max"] for r in kept) == 99.0
        trend = tables.median_table(s, "ctdivol_mGy", tables.Filters(), "quarter", by_device=False)
        assert _same_table(trend, tables.computed_table(s, "ctdivol_mGy", tables.Filters(), "quarter", by_device=False))
        assert max(r["max"] for r in trend) == 99.0


def test_a_period_stored_into_while_the_refresher_computes_it_stays_stale(sessions, generated, monkeypatch):
    """The refresher reads a period, then writes it (the write lock held for the writes alone); a study stored
    between the two marks the period again: the refresher's figures lack it, so the mark stays and the next round
    computes the period with it.  Only the period marked again stays stale."""
    from kerma.db import states
    from kerma.stats import monthly, refresher

    with sessions() as s, s.begin():
        states.mark_months_stale(s)
        while refresher.refresh(s):
            pass
    _store(sessions, [ct_study("2026-02-10", "CT-A", "Thorax Routine", [77.0], [2000.0], description="CT Thorax")])
    computing = refresher.counts

    def stored_meanwhile(session, filters, period):  # the refresher has read February's rows, not yet written them
        monkeypatch.setattr(refresher, "counts", computing)
        _store(sessions, [ct_study("2026-02-20", "CT-A", "Thorax Routine", [88.0], [2500.0], description="CT Thorax")])
        return computing(session, filters, period)

    monkeypatch.setattr(refresher, "counts", stored_meanwhile)
    with sessions() as s, s.begin():
        refresher.refresh(s, max_months=1)  # February: months come first
    with sessions() as s:
        assert monthly.read(s, "ctdivol_mGy", tables.Filters())[1] == {"2026-02"}  # marked again: still stale
        assert max(r["max"] for r in tables.median_table(s, "ctdivol_mGy", tables.Filters())) == 88.0  # from the rows
    with sessions() as s, s.begin():
        while refresher.refresh(s):
            pass
    with sessions() as s:
        assert monthly.read(s, "ctdivol_mGy", tables.Filters())[1] == set()
        kept = tables.median_table(s, "ctdivol_mGy", tables.Filters())
        assert _same_table(kept, tables.computed_table(s, "ctdivol_mGy", tables.Filters()))
        assert max(r["max"] for r in kept) == 88.0


def test_a_fault_in_the_statistics_process_is_the_refreshers_error_and_the_next_round_tries_again(tmp_path):
    """The statistics process answers a fault (here a database it cannot open) as its answer, described without
    values: the refresher's round raises it (health shows it, the thread tries again later), and the process lives on."""
    from kerma.stats.refresher import RefreshFailed, StatisticsProcess

    process = StatisticsProcess(f"sqlite:///{tmp_path}/no-such-folder/kerma.sqlite", timeout=120)
    try:
        for _ in range(2):
            with pytest.raises(RefreshFailed, match="OperationalError"):
                process.refresh()
        assert process.started == 1  # one child answered both calls
    finally:
        process.stop()
