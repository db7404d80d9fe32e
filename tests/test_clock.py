"""Time is an input: the product reads one clock (kerma.clock), rows take their time from it, tests pin it."""

import datetime as dt
import re
import time
from pathlib import Path

from sqlalchemy import select

from kerma import clock
from kerma.db.models import DoseObject, Study
from kerma.ingest.store import Processed, store_batch
from records_factory import ct_study

PRODUCT = Path(__file__).resolve().parents[1] / "plugin" / "kerma"
# reading the system's date or time anywhere but kerma/clock.py makes a result depend on the day it runs
SYSTEM_TIME = re.compile(r"\b(?:datetime\.now|datetime\.utcnow|date\.today|time\.time|time\.localtime|time\.gmtime)\(")


def test_only_the_clock_module_reads_the_system_time():
    offenders = [f"{path.relative_to(PRODUCT)}:{number}: {line.strip()}"
                 for path in sorted(PRODUCT.rglob("*.py")) if path.name != "clock.py"
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if SYSTEM_TIME.search(line)]
    assert offenders == []


def test_a_pinned_clock_advances_from_its_moment_and_is_released():
    moment = dt.datetime(2028, 2, 29, 23, 59, 59, tzinfo=dt.timezone.utc)
    with clock.use(clock.starting_at(moment)):
        first = clock.now()
        time.sleep(0.01)
        second = clock.now()
        assert moment <= first < second < moment + dt.timedelta(seconds=5)
    assert abs(clock.now() - clock.system()) < dt.timedelta(seconds=5)


def test_rows_take_their_time_from_the_clock(sessions):
    moment = dt.datetime(2031, 5, 6, 12, 0, tzinfo=dt.timezone.utc)  # not the database server's today
    with clock.use(clock.starting_at(moment)):
        with sessions() as s, s.begin():
            store_batch(s, [Processed(1, "orthanc-1", ct_study("2031-05-05", "CT-A", "Abdomen", [10.0], [300.0]))], last_seq=1)
    with sessions() as s:
        stamps = [s.scalars(select(DoseObject.processed_at)).one(), s.scalars(select(Study.created_at)).one()]
    for stamp in stamps:
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)  # SQLite gives naive UTC
        assert moment <= stamp < moment + dt.timedelta(minutes=5)
