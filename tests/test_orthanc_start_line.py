"""On start, Kerma writes one line to Orthanc's log: version, database (without password), cursor, lag."""

import os
import re

import pytest

from conftest import new_postgres_database
from corpus import dose_reports
from kerma import __version__
from kerma.startup import start_line
from support.orthanc import OrthancProcess, free_port
from test_orthanc_ingest import wait_until_ingested

PASSWORD = "Pw-only-in-the-url-7c1"
START_LINE = re.compile(r"Kerma: kerma: started: version (\S+), database (\S+), cursor (\d+), lag (\d+)$", re.M)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """(URL Kerma is given, what the log must show instead)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kerma.sqlite'}"
        return url, url
    server = request.getfixturevalue("postgres")
    server._psql(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'logcheck') THEN "
                 f"CREATE ROLE logcheck LOGIN PASSWORD '{PASSWORD}'; END IF; END $$;")
    name = new_postgres_database(server).rsplit("/", 1)[1]
    server._psql(f"ALTER DATABASE {name} OWNER TO logcheck")
    address = f"127.0.0.1:{server.port}/{name}"
    return f"postgresql+psycopg://logcheck:{PASSWORD}@{address}", f"postgresql+psycopg://logcheck:***@{address}"


def start_lines(orthanc, since=0):
    """The start lines in Orthanc's log after byte ``since`` (the three runs share one log file)."""
    with open(orthanc.log_path, "rb") as log:
        log.seek(since)
        return START_LINE.findall(log.read().decode("utf-8", "replace"))


def log_size(orthanc) -> int:
    return os.path.getsize(orthanc.log_path)


def last_seq(orthanc) -> int:
    return orthanc.session().get(orthanc.url + "/changes?last").json()["Last"]


def test_start_line_says_version_database_cursor_and_lag(tmp_path, database):
    url, shown = database
    reports = dose_reports()[:3]

    def orthanc(**config):
        return OrthancProcess(tmp_path / "orthanc", free_port(), free_port(), url, extra_config=config)

    # Orthanc holds history before Kerma is added: Kerma starts at cursor 0 with the whole log to back-fill
    with orthanc(Plugins=[]) as first:
        assert first.store(reports) == [0] * len(reports)
        before = last_seq(first)
    assert start_lines(first) == []
    second = orthanc().start()
    try:
        lag = last_seq(second)
        assert lag >= before >= len(reports)
        health = wait_until_ingested(second)
    finally:
        second.stop()
    assert start_lines(second) == [(__version__, shown, "0", str(lag))]
    offset = log_size(second)
    # a restart resumes at the cursor it reached
    with orthanc() as third:
        behind = last_seq(third) - health["cursor"]
    assert start_lines(third, offset) == [(__version__, shown, str(health["cursor"]), str(behind))]
    assert health["cursor"] > 0
    with open(third.log_path, encoding="utf-8", errors="replace") as log:
        assert PASSWORD not in log.read()


def test_start_line_hides_the_password_of_any_url():
    assert start_line("1.2", "postgresql+psycopg://u:p%40ss@db:5432/k", 5, 9) == \
        "started: version 1.2, database postgresql+psycopg://u:***@db:5432/k, cursor 5, lag 4"
    assert start_line("1.2", "sqlite:////var/lib/orthanc/db/kerma.sqlite", 0, None).endswith(
        "database sqlite:////var/lib/orthanc/db/kerma.sqlite, cursor 0, lag ?")
    assert "secret" not in start_line("1.2", "not a url secret@x", 0, 0)
