"""Derived doses end to end: a CT RDSR and a fluoroscopy RDSR by C-STORE into a real Orthanc (SQLite and
PostgreSQL behind Kerma) get their effective dose, SSDE per acquisition and peak skin dose with its map, computed in
the dosimetry process (a child of Orthanc's, not Orthanc itself), equal to the dosimetry models run directly on the
same files (those are tested against analytic and oracle values: test_effective_dose, test_ssde, test_skin_dose*);
a weight the HIS sends later recomputes the skin dose with it.
"""

from __future__ import annotations

import time
from dataclasses import replace
from urllib.parse import quote

import pydicom
import pytest

from conftest import new_postgres_database
from corpus import CORPUS
from hl7_factory import adt_update, msa
from kerma.dosimetry.effective import effective_dose
from kerma.dosimetry.skin import skin_dose
from kerma.dosimetry.ssde import ssde_results
from kerma.extract import extract
from kerma.hl7.mllp import send
from support.orthanc import OrthancProcess, free_port, wait_for_port
from test_orthanc_mpps import api

CT = CORPUS / "openrem" / "CT-RDSR-ToshibaPixelMed.dcm"
RF = CORPUS / "openrem" / "RF-RDSR-Siemens-Zee.dcm"  # no weight in its header: the HIS gives it
CT_IMAGE = CORPUS / "public" / "ct_image" / "orthanc-tests__2020-09-11-Christopher-ELSCINT1-Raw.dcm"  # an axial slice
WEIGHT = "OBX|1|NM|29463-7^Body weight^LN||{}|kg|||||F"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def orthanc(request, tmp_path_factory):
    work = tmp_path_factory.mktemp(f"orthanc-derived-{request.param}")
    url = (f"sqlite:///{work / 'kerma.sqlite'}" if request.param == "sqlite"
           else new_postgres_database(request.getfixturevalue("postgres")))
    process = OrthancProcess(work, free_port(), free_port(), url,
                             extra_config={"Kerma.PollSeconds": 0.5, "Kerma.Hl7Port": free_port()})
    process.start()
    wait_for_port(process.extra_config["Kerma.Hl7Port"])
    yield process
    process.stop()


def derived(orthanc, path, until, timeout: float = 180, totals: tuple = ()) -> dict:
    """The study's page once ``until`` holds for its ``derived_doses`` and its totals have ``totals``."""
    deadline = time.monotonic() + timeout
    uid = pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID
    while True:
        answer = orthanc.session().get(f"{orthanc.url}/kerma/api/studies/{quote(uid, safe='')}")
        if answer.status_code == 200 and until(answer.json()["derived_doses"]) \
                and all(answer.json()["totals"].get(k) is not None for k in totals):
            return answer.json()
        assert time.monotonic() < deadline, (answer.text[:2000], orthanc.log_tail())
        time.sleep(0.3)


def test_stored_reports_get_their_derived_doses_in_the_dosimetry_process(orthanc):
    assert orthanc.store([CT, RF, CT_IMAGE]) == [0, 0, 0]
    ct = derived(orthanc, CT, lambda d: d["state"] == "current" and d["effective_dose"] is not None)
    image = derived(orthanc, CT_IMAGE, lambda d: d["state"] == "current" and d["ssde"])
    # the PSD reaches the totals with the refresh its rows ask for, a moment after they are stored
    rf = derived(orthanc, RF, lambda d: d["state"] == "current" and d["skin_dose"], totals=("psd_mGy",))

    direct = effective_dose(extract(CT.read_bytes()))
    effective = ct["derived_doses"]["effective_dose"]
    assert effective["effective_dose_mSv"] == pytest.approx(direct.effective_dose_mSv, rel=1e-5)
    assert effective["effective_dose_mSv_low"] < direct.effective_dose_mSv < effective["effective_dose_mSv_high"]
    assert "not a personal risk" in effective["statement"]
    # SSDE: the report alone sizes no one (no verified coefficient for the age), the slice by its Dw (AAPM 220)
    by_event = {r.irradiation_event_uid: r for r in ssde_results([CT])}
    assert {r["part"]: (r["method"], r["reason"]) for r in ct["derived_doses"]["ssde"]} == \
        {uid: (r.method, "; ".join(r.reasons)) for uid, r in by_event.items()}
    [direct_slice] = ssde_results([CT_IMAGE])
    [ssde] = image["derived_doses"]["ssde"]
    assert (ssde["method"], ssde["status"]) == ("water_equivalent_diameter", "estimated")
    assert ssde["ssde_mGy"] == pytest.approx(direct_slice.ssde_mGy, rel=1e-4)
    assert ssde["diameter_cm"] == pytest.approx(direct_slice.dw_cm, rel=1e-4)

    [skin] = rf["derived_doses"]["skin_dose"]
    assert skin["psd_mGy"] == pytest.approx(skin_dose(extract(RF.read_bytes())).psd_mGy, rel=1e-5)
    assert rf["totals"]["psd_mGy"] == pytest.approx(skin["psd_mGy"])  # the SRDL rules and reports read it there
    png = orthanc.session().get(f"{orthanc.url}/kerma/api/{skin['map_png']}")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")

    health = api(orthanc, "health")["dosimetry"]
    assert health["pid"] is not None and health["pid"] != orthanc.process.pid and health["studies_computed"] >= 2

    # the HIS sends the patient's weight: the skin dose is computed again with it
    ack = send("127.0.0.1", orthanc.extra_config["Kerma.Hl7Port"],
               [adt_update("098765", "", "19160512", "O", WEIGHT.format(120))])
    assert msa(ack[0])[1] == "AA"
    again = derived(orthanc, RF, lambda d: d["state"] == "current" and d["skin_dose"]
                    and d["skin_dose"][0]["inputs"]["patient"]["weight_kg"] == 120.0)
    record = extract(RF.read_bytes())
    record = replace(record, patient=replace(record.patient, weight_kg=120.0))
    [recomputed] = again["derived_doses"]["skin_dose"]
    assert recomputed["psd_mGy"] == pytest.approx(skin_dose(record).psd_mGy, rel=1e-5)
    assert recomputed["psd_mGy"] != pytest.approx(skin["psd_mGy"], rel=1e-5)
