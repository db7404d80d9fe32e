"""Smoke tests of the test harness itself (tests/support): Orthanc and PostgreSQL start, stop, answer."""
from pathlib import Path

import psycopg
import requests

from support.orthanc import OrthancProcess, free_port
from support.postgres import PostgresServer

OPENREM = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "openrem"

TRIVIAL_PLUGIN = '''
import orthanc
def health(output, uri, **request):
    output.AnswerBuffer('{"status": "ok"}', "application/json")
orthanc.RegisterRestCallback("/kerma/api/health", health)
'''


def test_orthanc_process_starts_stores_and_dies(tmp_path):
    script = tmp_path / "entry.py"
    script.write_text(TRIVIAL_PLUGIN)
    orthanc = OrthancProcess(tmp_path / "orthanc", free_port(), free_port(),
                             "sqlite:///%s" % (tmp_path / "kerma.sqlite"), python_script=script)
    orthanc.start()
    try:
        assert orthanc.session().get(orthanc.url + "/system").status_code == 200
        assert requests.get(orthanc.url + "/system").status_code == 401
        assert orthanc.session().get(orthanc.url + "/kerma/api/health").json() == {"status": "ok"}
        statuses = orthanc.store([OPENREM / "NM-RRDSR-Siemens.dcm", OPENREM / "CT-RDSR-GEPixelMed.dcm"])
        assert statuses == [0x0000, 0x0000]
        assert len(orthanc.session().get(orthanc.url + "/instances").json()) == 2
        assert orthanc.kill9() == -9
        orthanc.start()  # same storage after a crash
        assert len(orthanc.session().get(orthanc.url + "/instances").json()) == 2
    finally:
        orthanc.stop()


def test_postgres_server(tmp_path):
    with PostgresServer(tmp_path / "pg", free_port()) as pg:
        assert pg.url.startswith("postgresql+psycopg://kerma:kerma@127.0.0.1:")
        with psycopg.connect(pg.dsn) as conn:
            assert conn.execute("SELECT current_user, current_database()").fetchone() == ("kerma", "kerma")
