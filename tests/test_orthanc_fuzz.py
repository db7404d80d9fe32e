"""500 mutated objects by C-STORE into a real Orthanc with Kerma (SQLite and PostgreSQL): Orthanc stays up,
ingestion catches up (health lag 0) and every instance Orthanc stored has its ledger row."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from pydicom import dcmread
from pynetdicom import _config as pynetdicom_config
from sqlalchemy import create_engine, text

from corpus import CORPUS, manifest
from dicom_mutants import Mutator
from support.orthanc import OrthancProcess, free_port

MUTANTS = 500
SEED = 1502  # issue 15, finding 2
STRUCTURED_SHARE = 0.75
SEED_MAX_BYTES = 400_000  # the two large reports are the in-process fuzz test's: here they would take minutes


def _meta(path: Path):
    """(SOP class, transfer syntax, SOP instance) of a Part 10 file that DCMTK (Orthanc's parser) reads through;
    None when its meta group does not say or DCMTK cannot follow it (over DIMSE, DCMTK then waits for the rest of a
    dataset that never comes until the association times out: a modality could not send it either)."""
    try:
        meta = dcmread(path, stop_before_pixels=True, specific_tags=[]).file_meta
        found = str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID), str(meta.MediaStorageSOPInstanceUID)
    except Exception:  # the damage this leaves out is the in-process fuzz test's (tests/test_extract_fuzz.py)
        return None
    dcmdump = subprocess.run(["dcmdump", "-q", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return None if dcmdump.returncode else found


def sendable_mutants(folder: Path, count: int = MUTANTS) -> list[Path]:
    """``count`` mutants of corpus objects that a modality could send, written to ``folder``: their meta group names
    a class and syntax of the corpus and DCMTK reads them through. Each is its own instance: the last digits of its
    SOP Instance UID are replaced by its number (same length, so no length field changes)."""
    seeds = [CORPUS / row["path"] for row in manifest()
             if not row["sop_class"].startswith("HL7") and int(row["bytes"]) <= SEED_MAX_BYTES]
    metas = {p.name: _meta(p) for p in seeds}
    seeds = [p for p in seeds if metas[p.name]]
    contexts = {metas[p.name][:2] for p in seeds}
    chosen = []
    # mostly structured damage: DCMTK refuses most byte damage before Kerma could see it
    for index, mutant in enumerate(Mutator(seeds, SEED, structured_share=STRUCTURED_SHARE).mutants(20 * count)):
        uid = metas[mutant.seed][2]
        data = mutant.data.replace(uid.encode(), f"{uid[:-6]}{index:06d}".encode())
        path = folder / f"{index:05d}-{mutant.kind}.dcm"
        path.write_bytes(data + b"\x00" * (len(data) % 2))  # DIMSE carries even lengths only
        meta = _meta(path)
        if meta and meta[:2] in contexts and meta[2]:
            chosen.append(path)
            if len(chosen) == count:
                return chosen
    raise AssertionError(f"only {len(chosen)} sendable mutants")


@pytest.fixture(scope="module")
def mutants(tmp_path_factory) -> list[Path]:
    return sendable_mutants(tmp_path_factory.mktemp("mutants"))


def _store_as_they_are(orthanc: OrthancProcess, paths: list[Path], per_association: int = 50) -> list:
    """C-STORE each file's bytes unchanged (pynetdicom would otherwise decode and re-encode the dataset).

    An object Orthanc cannot take may end its association, as it would a modality's: the modality
    associates again and sends the rest. One status per file, None for the one the association broke on.
    """
    chunked = pynetdicom_config.STORE_SEND_CHUNKED_DATASET
    pynetdicom_config.STORE_SEND_CHUNKED_DATASET = True
    statuses: list = []
    try:
        while len(statuses) < len(paths):
            batch = paths[len(statuses):len(statuses) + per_association]
            answered = orthanc.store(batch, timeout=30)
            sent = next((i for i, status in enumerate(answered) if status is None), len(batch))
            statuses += answered[:sent] + [None] * (sent < len(batch))
    finally:
        pynetdicom_config.STORE_SEND_CHUNKED_DATASET = chunked
    return statuses


def _caught_up(orthanc: OrthancProcess, timeout: float) -> dict:
    session = orthanc.session()
    deadline = time.monotonic() + timeout
    while True:
        health = session.get(orthanc.url + "/kerma/api/health").json()
        if health["lag"] == 0:
            return health
        if time.monotonic() > deadline:
            raise AssertionError(f"ingestion stalled: {health}\n{orthanc.log_tail()}")
        time.sleep(0.5)


def test_mutants_by_c_store_each_get_a_ledger_row(tmp_path, mutants, database_url):
    orthanc = OrthancProcess(tmp_path / "orthanc", free_port(), free_port(), database_url)
    with orthanc:
        statuses = _store_as_they_are(orthanc, mutants)
        session = orthanc.session()
        assert session.get(orthanc.url + "/system").status_code == 200  # Orthanc is up after all of them
        accepted = sum(s == 0 for s in statuses)
        assert accepted >= MUTANTS // 2, f"Orthanc took only {accepted} of {MUTANTS}: the test would prove little"
        health = _caught_up(orthanc, timeout=300)
        instances = set(session.get(orthanc.url + "/instances").json())
        assert len(instances) >= accepted * 9 // 10  # each its own instance (a few may have lost their new UID)
        engine = create_engine(database_url)
        try:
            with engine.connect() as connection:
                ledger = {row[0] for row in connection.execute(text("SELECT orthanc_id FROM dose_object"))}
        finally:
            engine.dispose()
        missing = instances - ledger
        assert not missing, f"{len(missing)} stored instance(s) without a ledger row, e.g. {sorted(missing)[:5]}"
        assert sum(health["counts"]["dose_objects"].values()) == len(instances)
        assert session.get(orthanc.url + "/kerma/api/health").json()["lag"] == 0
