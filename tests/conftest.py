import os
import shutil
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
    """A fresh dose database URL on each engine Kerma supports: empty, or at the latest schema when the test also
    asks for ``sessions`` (then a copy of a database migrated once for the session, see :class:`MigratedTemplates`)."""
    templates = request.getfixturevalue("migrated_templates") if "sessions" in request.fixturenames else None
    if request.param == "sqlite":
        path = tmp_path / "kerma.sqlite"
        if templates is not None:
            templates.sqlite_copy(path)
        return f"sqlite:///{path}"
    server = request.getfixturevalue("postgres")
    return templates.postgres_copy(server) if templates is not None else new_postgres_database(server)


def new_postgres_database(server, template: str | None = None) -> str:
    name = f"kerma_test_{next(_database_counter)}"
    server._psql(f"CREATE DATABASE {name} OWNER {server.user}" + (f" TEMPLATE {template}" if template else ""))
    return server.url.rsplit("/", 1)[0] + "/" + name


class MigratedTemplates:
    """One dose database per engine migrated to the latest schema once, copied for each test that wants one: running
    every migration costs about 1 s of CPU a test (23 migrations, 2026-12-02) and the suite asks for ~300 such
    databases; a copy of the SQLite file takes milliseconds, and PostgreSQL copies a database given as TEMPLATE.
    The migrations themselves still run: here once per engine, and in every test of them and every Orthanc start."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    def sqlite_copy(self, path: Path) -> None:
        from kerma.db.schema import upgrade

        if self._sqlite is None:
            template = self.folder / "template.sqlite"
            upgrade(f"sqlite:///{template}")  # the engine is disposed: the write-ahead log is checkpointed and gone
            assert not Path(f"{template}-wal").exists(), "the template's write-ahead log was left behind"
            self._sqlite = template
        shutil.copyfile(self._sqlite, path)

    def postgres_copy(self, server) -> str:
        from kerma.db.schema import upgrade

        if self._postgres is None:
            url = new_postgres_database(server)
            upgrade(url)  # no connection left open to it (alembic's engine is disposed): it can serve as a template
            self._postgres = url.rsplit("/", 1)[1]
        return new_postgres_database(server, template=self._postgres)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory) -> MigratedTemplates:
    return MigratedTemplates(tmp_path_factory.mktemp("migrated"))


@pytest.fixture
def sessions(database_url):
    """Sessions on a fresh dose database (migrated to the latest schema) of each engine; the upgrade finds it there
    (database_url copied a migrated template) and only checks."""
    from kerma.db.engine import make_engine, make_sessionmaker
    from kerma.db.schema import upgrade

    upgrade(database_url)
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()
