"""500 mutated objects by C-STORE into a real Orthanc with Kerma (SQLite and PostgreSQL): Orthanc stays up,
ingestion catches up (health lag 0) and every instance Orthanc stored has its ledger row."""

from __future__ import annotations

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


def _meta(path: Path):
    """(SOP class, transfer syntax) of a Part 10 file, None when its meta group does not say (it cannot be sent)."""
    try:
        meta = dcmread(path, stop_before_pixels=True, specific_tags=[]).file_meta
        return str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID), str(meta.MediaStorageSOPInstanceUID)
    except Exception:  # a mutant whose meta group is damaged: a modality could not send it either
        return None


@pytest.fixture(scope="module")
def mutants(tmp_path_factory) -> list[Path]:
    """500 mutants of corpus objects that a modality could send: their meta group names a class and syntax of the
    corpus (pynetdicom sends their bytes as they are, however damaged the dataset)."""
    seeds = [CORPUS / row["path"] for row in manifest() if not row["sop_class"].startswith("HL7")]
    seeds = [p for p in seeds if _meta(p)]
    contexts = {_meta(p)[:2] for p in seeds}
    folder = tmp_path_factory.mktemp("mutants")
    chosen = []
    for index, mutant in enumerate(Mutator(seeds, SEED).mutants(20 * MUTANTS)):
        path = folder / f"{index:05d}-{mutant.kind}.dcm"
        path.write_bytes(mutant.data)
        meta = _meta(path)
        if meta and meta[:2] in contexts and meta[2]:
            chosen.append(path)
            if len(chosen) == MUTANTS:
                return chosen
    raise AssertionError(f"only {len(chosen)} sendable mutants")


def _store_as_they_are(orthanc: OrthancProcess, paths: list[Path]) -> list:
    """C-STORE each file's bytes unchanged (pynetdicom would otherwise decode and re-encode the dataset)."""
    chunked = pynetdicom_config.STORE_SEND_CHUNKED_DATASET
    pynetdicom_config.STORE_SEND_CHUNKED_DATASET = True
    try:
        return orthanc.store(paths, timeout=120)
    finally:
        pynetdicom_config.STORE_SEND_CHUNKED_DATASET = chunked


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
        assert len(instances) >= accepted // 2  # mutants of one seed may share their identifiers
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
