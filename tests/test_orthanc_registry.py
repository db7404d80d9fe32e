"""Dose reports to a registry Orthanc on loopback (IHE REM), through Kerma's Orthanc's modality and the outbox in
the dose database (both engines): with the registry down nothing is lost (each report pending with the error),
once it is up each is sent exactly once, a modality re-sending a report sends nothing more, and what the registry
holds has no identifier of the original in any element while its dose content extracts equal to the original's."""

import io
import time

import pydicom
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from conftest import CORPUS
from kerma.db.models import RegistrySubmission
from kerma.extract import extract
from remote_pacs import pacs_pair
from test_orthanc_alerts import wait_for
from test_output_deidentify import NOT_DOSE_CONTENT, identifiers, values, walk

REPORTS = [CORPUS / "openrem" / f"{name}.dcm" for name in ("CT-RDSR-GEPixelMed", "DX-RDSR-Canon_CXDI",
                                                             "RF-RDSR-Siemens-Zee")]
IMAGE = CORPUS / "openrem" / "DX-Im-GE_XR220-1.dcm"  # header dose: not an RDSR, not sent
REGISTRY = "pacs_127_0_0_1"  # the registry's name among the modalities of Kerma's Orthanc (remote_pacs)


def submissions(database_url):
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return [(r.status, r.attempts, r.last_error, r.sent_sop_instance_uid, r.method)
                    for r in session.scalars(select(RegistrySubmission).order_by(RegistrySubmission.id))]
    finally:
        engine.dispose()


def all_rows(database_url, condition):
    """The submissions when there is one per report and each meets ``condition``, else None."""
    rows = submissions(database_url)
    return rows if len(rows) == len(REPORTS) and all(condition(r) for r in rows) else None


def test_reports_reach_the_registry_once_deidentified_after_an_outage(tmp_path, database_url):
    registry, kerma, name = pacs_pair(tmp_path, database_url, {
        "Kerma.Registry": {"Modality": REGISTRY, "Dates": "shift"}, "Kerma.OutboxPollSeconds": 1})
    assert name == REGISTRY
    try:
        kerma.start()                                                     # the registry is down
        kerma.store([*REPORTS, IMAGE])
        wait_for("every report pending, the first tried and refused", lambda: all_rows(
            database_url, lambda r: r[0] == "pending") and submissions(database_url)[0][1] >= 2,
            log=lambda: f"{submissions(database_url)}\n{kerma.log_tail(60)}")
        assert all(r[3] is None for r in submissions(database_url))
        assert "Connection refused" in submissions(database_url)[0][2] or "network" in submissions(database_url)[0][2]
        registry.start()
        sent = wait_for("every report sent", lambda: all_rows(database_url, lambda r: r[0] == "sent"), timeout=120)
        assert len(sent) == len(REPORTS) and all("dates shifted" in r[4] for r in sent)
        log = kerma.session().get(kerma.url + "/kerma/api/registry/submissions?status=sent").json()
        assert log["total"] == len(REPORTS) and {s["sent_sop_instance_uid"] for s in log["submissions"]} == {
            r[3] for r in sent} and all(s["registry"] == REGISTRY for s in log["submissions"])
        held = registry.session().get(registry.url + "/instances").json()
        assert len(held) == len(REPORTS)                                 # each once
        kerma.store(REPORTS)                                              # the modality sends them again
        wait_for("the repeats in the ledger", lambda: kerma.session().get(
            kerma.url + "/kerma/api/health").json()["lag"] == 0)
        time.sleep(3)                                                     # three more rounds of the sender
        assert len(submissions(database_url)) == len(REPORTS)
        assert len(registry.session().get(registry.url + "/instances").json()) == len(REPORTS)
        received = {}
        for orthanc_id in held:
            data = registry.session().get(f"{registry.url}/instances/{orthanc_id}/file").content
            received[pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID] = data
        assert set(received) == {r[3] for r in sent}
        for path in REPORTS:
            original = pydicom.dcmread(path)
            exact, phrases, institution = identifiers(original)
            before = extract(path.read_bytes())
            matches = [d for d in received.values() if extract(d).totals == before.totals]
            assert len(matches) == 1, path.name
            result = pydicom.dcmread(io.BytesIO(matches[0]))
            for where, element in [*walk(result.file_meta, "meta."), *walk(result)]:
                for value in values(element):
                    assert value not in exact and not (element.VR in ("PN", "LO", "SH", "ST", "LT", "UT") and any(
                        p in value for p in phrases)), (path.name, where)
            after = extract(matches[0])
            for a, b in zip(before.events, after.events):
                assert {k: v for k, v in a.items() if k not in NOT_DOSE_CONTENT} == \
                    {k: v for k, v in b.items() if k not in NOT_DOSE_CONTENT}
    finally:
        kerma.stop()
        registry.stop()
