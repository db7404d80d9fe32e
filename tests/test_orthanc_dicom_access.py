"""Who may store: Orthanc started with the shipped configuration (scripts/make_config.py from orthanc-config/, as
scripts/start.sh writes it) accepts associations only from declared modalities calling its own AE title."""

import json
import re
import sys
import time

import pydicom
import pytest
from pynetdicom import AE

from conftest import ROOT
from corpus import CORPUS
from dicom_factory import renamed_copy
from support.dimse import release, responses_to_sender
from support.orthanc import CALLING_AET, running_orthanc

REPORT = CORPUS / "openrem" / "CT-RDSR-GEPixelMed.dcm"
VERIFICATION = "1.2.840.10008.1.1"


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    # Orthanc alone ("Plugins": []): what is checked here is Orthanc's own DICOM access, as configured for Kerma
    with running_orthanc(tmp_path_factory.mktemp("dicom-access"), extra_config={"Plugins": []},
                         modalities=(f"{CALLING_AET}@127.0.0.1", "CT_ROOM_1@192.0.2.10:104")) as process:
        yield process


@pytest.fixture
def new_report(tmp_path):
    """A copy of a corpus report with a new SOP Instance UID: (path, SOP Instance UID)."""
    path = tmp_path / "report.dcm"
    path.write_bytes(renamed_copy(REPORT))
    return path, str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def stored(orthanc, sop_instance_uid) -> bool:
    found = orthanc.session().post(orthanc.url + "/tools/find", json={
        "Level": "Instance", "Query": {"SOPInstanceUID": sop_instance_uid}}).json()
    return len(found) == 1


def test_a_declared_modality_calling_orthancs_ae_title_stores(orthanc, new_report):
    path, uid = new_report
    assert orthanc.store([path]) == [0x0000]
    assert stored(orthanc, uid)


@pytest.mark.parametrize("calling, called, why", [
    ("INTRUDER", None, "calling AE not declared"),
    (CALLING_AET, "ANY-SCP", "called AE is not Orthanc's"),
    ("CT_ROOM_1", None, "declared AE title, but from another address than declared"),
])
def test_any_other_association_is_refused_before_a_store(orthanc, new_report, calling, called, why):
    path, uid = new_report
    refusals = rejected_in_log(orthanc)
    with pytest.raises(RuntimeError, match="rejected"):
        orthanc.store([path], calling_aet=calling, called_aet=called)
    assert not stored(orthanc, uid), why
    assert orthanc.process.poll() is None
    deadline = time.monotonic() + 5  # the log is written by another thread of Orthanc
    while rejected_in_log(orthanc) == refusals and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rejected_in_log(orthanc) == refusals + 1, "Orthanc's log names the refused association"


def rejected_in_log(orthanc) -> int:
    with open(orthanc.log_path, encoding="utf-8", errors="replace") as log:
        return log.read().count("Rejected association")


def test_echo_only_from_declared_modalities(orthanc):
    def echo(calling):
        ae = AE(ae_title=calling)
        ae.add_requested_context(VERIFICATION)
        assoc = ae.associate("127.0.0.1", orthanc.dicom_port, ae_title=orthanc.aet)
        if not assoc.is_established:
            return None
        try:
            return int(responses_to_sender(assoc).send_c_echo().Status)
        finally:
            release(assoc)

    assert echo(CALLING_AET) == 0x0000
    assert echo("INTRUDER") is None


def test_docker_compose_sets_the_same_dicom_access_as_the_shipped_configuration():
    """orthancteam/orthanc reads ORTHANC__DICOM_CHECK_CALLED_AET as "DicomCheckCalledAet" (its documented naming)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_config import load_template

    shipped = load_template(ROOT / "orthanc-config" / "orthanc.json")
    compose = dict(re.findall(r'^\s+ORTHANC__(DICOM_[A-Z_]+): "([^"]*)"', (ROOT / "docker-compose.yml").read_text(), re.M))
    settings = {"".join(w.capitalize() for w in name.split("_")): value for name, value in compose.items()}
    for key in ("DicomCheckCalledAet", "DicomAlwaysAllowStore", "DicomAlwaysAllowEcho", "DicomCheckModalityHost"):
        assert json.loads(settings[key]) == shipped[key], key
    assert settings["DicomModalities"].startswith("${KERMA_DICOM_MODALITIES:?"), "declared by the site, no default"
