"""The dose-against-weight scatter over many values: its points read from the indexed sample (1/32 of the rows,
``ix_event_sample_date`` / ``ix_study_sample_date``), its ``n`` from the kept statistics, both checked against the
rows read here with plain SQL, on each engine."""

import datetime as dt
import sys
from pathlib import Path

from sqlalchemy import text

from kerma.db import states
from kerma.stats.refresher import StatisticsProcess, SummaryRefresher
from kerma.stats.scatter import points_statement, scatter, values
from kerma.stats.tables import Filters

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import dosedata  # noqa: E402  (bench/: the generated dose database of benchmark (s), at a small size here)

YEAR = Filters(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
EVENTS = """FROM irradiation_event e JOIN study s ON s.id = e.study_id
            WHERE e.counted AND e."ctdivol_mGy" IS NOT NULL AND e.event_date BETWEEN '{}' AND '{}'"""
STUDIES = """FROM study s WHERE s."total_dlp_mGycm" IS NOT NULL AND s.study_date BETWEEN '2026-01-01' AND '2026-12-31'"""


def plan(session, stmt) -> str:
    """The engine's plan of ``stmt`` (its constants written in), as text; PostgreSQL told to avoid reading a whole
    table, so that a usable index shows (the generated tables are small)."""
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))  # as the driver takes it
    if session.get_bind().dialect.name == "sqlite":
        return " ".join(str(r[-1]) for r in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    session.execute(text("SET LOCAL enable_seqscan = off"))
    return " ".join(r[0] for r in session.connection().exec_driver_sql(f"EXPLAIN {sql}"))


def test_a_year_of_values_is_sampled_from_the_indexed_sample_and_counted_from_the_kept_table(database_url, sessions):
    dosedata.build(database_url, 8_000, say=lambda *_: None)  # ~1,600 CT values in 2026
    refresher = SummaryRefresher(sessions, process=StatisticsProcess(database_url))  # as in Orthanc: a child computes
    try:
        while refresher.tick():
            pass
    finally:
        refresher.stop()
    with sessions() as session, session.begin():
        counted = session.scalar(text("SELECT count(*) " + EVENTS.format(YEAR.date_from, YEAR.date_to)))
        pairs = weighed(session, YEAR)
        got = scatter(session, "ctdivol_mGy", YEAR, "weight", limit=20)
        assert got["n"] == counted > 1000  # every value, as the statistics table counts them
        assert 5 <= got["shown"] == len(got["points"]) <= 20 and {tuple(p) for p in got["points"]} <= pairs
        assert "ix_event_sample_date" in plan(session, points_statement("ctdivol_mGy", YEAR, "weight", 20, got["n"]))

        studies = session.scalar(text(f"SELECT count(*) {STUDIES}"))
        ages = {tuple(r) for r in session.execute(text(f'SELECT s.patient_age_years, s."total_dlp_mGycm" {STUDIES} '
                                                       "AND s.patient_age_years IS NOT NULL"))}
        exam = scatter(session, "total_dlp_mGycm", YEAR, "age", limit=10)
        assert exam["n"] == studies > 320 and 3 <= exam["shown"] <= 10 and {tuple(p) for p in exam["points"]} <= ages
        assert "ix_study_sample_date" in plan(session, points_statement("total_dlp_mGycm", YEAR, "age", 10, exam["n"]))

    # a month changed since the refresher's last round (its quarter and year with it): counted from the rows, the same
    with sessions() as session, session.begin():
        states.mark_months_stale(session, [dt.date(2026, 3, 5)])
    with sessions() as session:
        assert values(session, "ctdivol_mGy", YEAR) == counted
        assert scatter(session, "ctdivol_mGy", YEAR, "weight", limit=20) == got
        # a few values: every one with a weight, from the rows
        march = Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 3))
        few = scatter(session, "ctdivol_mGy", march, "weight", limit=2000)
        assert few["n"] == session.scalar(text("SELECT count(*) " + EVENTS.format(march.date_from, march.date_to)))
        assert sorted(map(tuple, few["points"])) == sorted(weighed(session, march, unique=False)) and few["n"] > 0


def weighed(session, filters, unique=True):
    """(weight, CTDIvol) of the CT values of ``filters``'s dates with a weight, read here."""
    rows = [tuple(r) for r in session.execute(text('SELECT s.patient_weight_kg, e."ctdivol_mGy" '
                                                   + EVENTS.format(filters.date_from, filters.date_to)
                                                   + " AND s.patient_weight_kg IS NOT NULL"))]
    return set(rows) if unique else rows
