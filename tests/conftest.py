import os
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugin"))
sys.path.insert(0, str(ROOT / "tests"))

if "FAKETIME" in os.environ:  # a fake-date pass of scripts/fake_dates.sh (libfaketime)
    # libfaketime 0.9.10 shifts the absolute monotonic deadline of clock_nanosleep, which time.sleep uses, even
    # when told not to fake the monotonic clock (EINVAL); a timed wait on an event sleeps as long without it
    time.sleep = lambda seconds: threading.Event().wait(seconds)

SHARED = ROOT.parent / "shared"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing: {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """One real PostgreSQL 15 server for the session; each test gets its own database."""
    from support.orthanc import free_port
    from support.postgres import PostgresServer

    server = PostgresServer(tmp_path_factory.mktemp("pg"), free_port()).start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def shared_orthanc(tmp_path_factory):
    """One Orthanc with Kerma (SQLite, the shipped configuration) for the tests that need no Orthanc of their own:
    each keeps to its own data (new UIDs, its own patients, staff and names) and asserts nothing about what other
    tests stored, so that starting one Orthanc serves them all.  A module that needs other configuration, a
    restart, a kill or an empty Orthanc starts its own (support.orthanc.running_orthanc)."""
    from support.orthanc import running_orthanc

    with running_orthanc(tmp_path_factory.mktemp("shared-orthanc")) as process:
        yield process


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's), one for the session: each test opens a context of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


_database_counter = iter(range(1, 10**6))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty dose database URL on each engine Kerma supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kerma.sqlite'}"
    return new_postgres_database(request.getfixturevalue("postgres"))


def new_postgres_database(server) -> str:
    name = f"kerma_test_{next(_database_counter)}"
    server._psql(f"CREATE DATABASE {name} OWNER {server.user}")
    return server.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def sessions(database_url):
    """Sessions on a fresh dose database (migrated to the latest schema) of each engine."""
    from kerma.db.engine import make_engine, make_sessionmaker
    from kerma.db.schema import upgrade

    upgrade(database_url)
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()
