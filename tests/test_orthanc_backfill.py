"""Back-fill from a remote PACS, for real: a second Orthanc on loopback is the PACS (each declared a modality of the
other), loaded with studies of dose objects inside and outside the ranges; Kerma's Orthanc fetches a date range
through its own query/retrieve and its ingest records what arrives.  The ledger, Orthanc's own instances and the
job's counts are checked against what the PACS was loaded with, also across a kill -9 of Kerma's Orthanc mid-job and
while the PACS is down; on both engines (the job tables)."""

import datetime as dt
import time

import pytest
from sqlalchemy import create_engine, select

from conftest import new_postgres_database
from corpus import CORPUS
from kerma.db.models import AuditEntry, DoseObject
from remote_pacs import dose_study, kerma_orthanc, remote_pacs
from support.orthanc import free_port
from test_orthanc_ingest import wait_until_ingested

RDSRS = [CORPUS / "openrem" / name for name in ("CT-RDSR-GEPixelMed.dcm", "CT-RDSR-Siemens_Flash-TAP-SS.dcm",
                                                 "DX-RDSR-Canon_CXDI.dcm")]
# the ranges of the tests (studies per day), and a day either side that must not be fetched
FULL = (dt.date(2025, 3, 3), dt.date(2025, 3, 6))
RESTART = (dt.date(2025, 6, 2), dt.date(2025, 6, 3))
DOWN = (dt.date(2025, 9, 1), dt.date(2025, 9, 1))
STUDIES_PER_DAY = {FULL: [1, 0, 2, 1], RESTART: [2, 2], DOWN: [1]}


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """The PACS, loaded once for both engines: (process, the DICOM port of Kerma's Orthanc, {range: [RemoteStudy]},
    studies outside the ranges)."""
    work = tmp_path_factory.mktemp("backfill-pacs")
    local_port = free_port()
    process = remote_pacs(work, local_port)
    process.start()
    try:
        studies, seed = {}, 0
        for span, counts in STUDIES_PER_DAY.items():
            studies[span] = []
            for offset, count in enumerate(counts):
                for _ in range(count):
                    seed += 1
                    studies[span].append(dose_study(span[0] + dt.timedelta(days=offset), seed,
                                                    RDSRS[seed % len(RDSRS)], ct_slices=2))
        outside = [dose_study(day, 900 + i, RDSRS[0], ct_slices=2) for i, day in enumerate(
            (FULL[0] - dt.timedelta(days=1), FULL[1] + dt.timedelta(days=1), RESTART[1] + dt.timedelta(days=1)))]
        paths = [p for i, study in enumerate([s for group in studies.values() for s in group] + outside)
                 for p in study.write(work / "studies" / str(i))]
        assert set(process.store(paths)) == {0}
        yield process, local_port, studies, outside
    finally:
        process.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pacs(request, remote, tmp_path_factory):
    """(remote, Kerma's Orthanc on a fresh database of each engine, the remote's modality name, {range: [RemoteStudy]},
    studies outside the ranges)."""
    process, local_port, studies, outside = remote
    work = tmp_path_factory.mktemp(f"backfill-{request.param}")
    if request.param == "sqlite":
        database = f"sqlite:///{work / 'kerma.sqlite'}"
    else:
        database = new_postgres_database(request.getfixturevalue("postgres"))
    local, name = kerma_orthanc(work, database, process, local_port, {"Kerma.BackfillInstancesPerSecond": 4,
                                                                       "Kerma.BackfillQueriesPerSecond": 50})
    local.start()
    try:
        yield process, local, name, studies, outside
    finally:
        local.stop()


def start(local, name, span, **options):
    answer = local.session().post(f"{local.url}/kerma/api/backfill", json={
        "modality": name, "date_from": span[0].isoformat(), "date_to": span[1].isoformat(), **options})
    assert answer.status_code == 200, answer.text
    return answer.json()


def job(local, job_id):
    answer = local.session().get(f"{local.url}/kerma/api/backfill/{job_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_for(local, job_id, condition, timeout=180.0):
    deadline = time.monotonic() + timeout
    while True:
        state = job(local, job_id)
        if condition(state):
            return state
        assert time.monotonic() < deadline, f"{state}\n{local.log_tail()}"
        time.sleep(0.2)


def ledger(local, uids) -> list[tuple[str, str | None]]:
    """(SOP Instance UID, duplicate_of_id) of every ledger row of these objects."""
    engine = create_engine(local.database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(DoseObject.sop_instance_uid, DoseObject.duplicate_of_id)
                                      .where(DoseObject.sop_instance_uid.in_(list(uids)))).all()
    finally:
        engine.dispose()


def orthanc_has(local, uid) -> bool:
    found = local.session().post(f"{local.url}/tools/lookup", data=uid).json()
    return any(match["Type"] == "Instance" for match in found)


def test_a_date_range_is_found_retrieved_and_recorded(pacs):
    remote, local, name, studies, outside = pacs
    wanted = [s for s in studies[FULL]]
    started = start(local, name, FULL, header_images=["CT", "DX"])
    assert (started["state"], started["days"]["total"]) == ("queued", len(STUDIES_PER_DAY[FULL]))
    done = wait_for(local, started["id"], lambda j: j["state"] == "done")
    wait_until_ingested(local)
    uids = set().union(*(s.wanted(header_images=True) for s in wanted))
    assert done["found"] == {"studies": len(wanted), "studies_listed": len(wanted), "objects": len(uids),
                             "rdsr": len(wanted), "screen": len(wanted), "image": 2 * len(wanted)}
    assert (done["retrieved"], done["already_present"], done["pending"], done["errors"]["count"]) == (len(uids), 0, 0, 0)
    done = job(local, started["id"])  # the ingest has caught up: every object is in the ledger
    assert done["recorded"] == {"objects": len(uids), "rdsr": len(wanted), "screen": len(wanted), "image": 2 * len(wanted),
                                "studies": len(wanted), "studies_without_dose_objects": 0}
    rows = ledger(local, uids)
    assert sorted(uid for uid, _ in rows) == sorted(uids) and {dup for _, dup in rows} == {None}
    # nothing else came: not the other CT slices, not the scanned form, not the studies outside the range
    others = [uid for s in wanted for kind in ("ct_other", "decoy") for uid in s.sop[kind]]
    others += [uid for s in outside + studies[RESTART] + studies[DOWN] for uids_ in s.sop.values() for uid in uids_]
    assert [uid for uid in others if orthanc_has(local, uid)] == []
    assert len(local.session().get(f"{local.url}/instances").json()) == len(uids)


def test_a_restart_of_kermas_orthanc_mid_job_resumes_without_duplicates(pacs):
    remote, local, name, studies, outside = pacs
    wanted = studies[RESTART]
    uids = set().union(*(s.wanted(header_images=False) for s in wanted))
    before = len(local.session().get(f"{local.url}/instances").json())
    started = start(local, name, RESTART)
    mid = wait_for(local, started["id"], lambda j: j["retrieved"] >= 2)
    assert mid["state"] == "running" and mid["retrieved"] < len(uids), mid
    local.kill9()  # a crash in the middle of the retrieves
    local.start()
    done = wait_for(local, started["id"], lambda j: j["state"] == "done")
    wait_until_ingested(local)
    done = job(local, started["id"])
    assert done["found"]["studies"] == done["recorded"]["studies"] == len(wanted)
    assert done["found"]["objects"] == done["recorded"]["objects"] == len(uids)
    assert done["retrieved"] + done["already_present"] == len(uids) and done["errors"]["count"] == 0
    rows = ledger(local, uids)
    assert sorted(uid for uid, _ in rows) == sorted(uids) and {dup for _, dup in rows} == {None}  # one row each
    assert len(local.session().get(f"{local.url}/instances").json()) == before + len(uids)


def test_a_pacs_that_is_down_is_reported_and_retried_while_live_ingestion_goes_on(pacs, tmp_path):
    remote, local, name, studies, outside = pacs
    wanted = studies[DOWN]
    uids = set().union(*(s.wanted(header_images=False) for s in wanted))
    remote.stop()
    try:
        started = start(local, name, DOWN)
        refused = wait_for(local, started["id"], lambda j: j["last_error"] is not None, timeout=30)
        assert refused["state"] == "running" and refused["found"]["studies"] == 0, refused
        # a modality storing into Kerma's Orthanc meanwhile is recorded as usual
        live = dose_study(dt.date(2025, 12, 1), 999, RDSRS[1], ct_slices=1)
        assert set(local.store(live.write(tmp_path / "live"))) == {0}
        wait_until_ingested(local, timeout=30)
        assert [uid for uid, _ in ledger(local, live.sop["rdsr"])] == live.sop["rdsr"]
    finally:
        remote.start()
    done = wait_for(local, started["id"], lambda j: j["state"] == "done", timeout=60)
    wait_until_ingested(local)
    done = job(local, started["id"])
    assert done["last_error"] is None and done["errors"]["count"] == 0
    assert done["found"]["studies"] == done["recorded"]["studies"] == len(wanted)
    assert done["found"]["objects"] == done["recorded"]["objects"] == len(uids)


def test_a_job_is_paused_resumed_and_cancelled_each_audited(pacs):
    remote, local, name, studies, outside = pacs
    session = local.session()
    refused = session.post(f"{local.url}/kerma/api/backfill", json={"modality": "nobody", "date_from": "2025-01-01",
                                                                     "date_to": "2025-01-02"})
    assert refused.status_code == 400 and "modality" in refused.json()["error"]
    started = start(local, name, (dt.date(2024, 1, 1), dt.date(2024, 12, 31)))
    url = f"{local.url}/kerma/api/backfill/{started['id']}"
    assert session.post(url + "/pause", json={}).json()["state"] == "paused"
    assert session.post(url + "/pause", json={}).status_code == 409
    assert session.post(url + "/resume", json={}).json()["state"] == "queued"
    wait_for(local, started["id"], lambda j: j["state"] == "running" and j["days"]["done"] > 0)
    cancelled = session.post(url + "/cancel", json={}).json()
    assert cancelled["state"] == "cancelled" and cancelled["finished_at"]
    time.sleep(1.5)
    days = job(local, started["id"])["days"]["done"]
    time.sleep(1.0)
    assert job(local, started["id"])["days"]["done"] == days  # a cancelled job does nothing more
    assert session.post(url + "/resume", json={}).status_code == 409
    engine = create_engine(local.database_url)
    try:
        with engine.connect() as connection:
            actions = connection.execute(select(AuditEntry.action, AuditEntry.actor).where(
                AuditEntry.target_type == "backfill_job", AuditEntry.target_id == str(started["id"]))
                .order_by(AuditEntry.id)).all()
    finally:
        engine.dispose()
    assert actions == [("backfill.start", "kerma"), ("backfill.pause", "kerma"), ("backfill.resume", "kerma"),
                       ("backfill.cancel", "kerma")]
