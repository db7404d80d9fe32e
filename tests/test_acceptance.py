"""The MPE acceptance kit (issue 16 §3): the acceptance report of every corpus device, its known gaps found.

The whole corpus is extracted and stored through the ingest path (SQLite: the report is plain queries, tested on
both engines by the statistics and correction tests); then each device's report is compared with what the DICOM
files themselves hold, read independently with pydicom: for each study of each device, whether its RDSR events
(TID 10003 Irradiation Event X-Ray Data, TID 10013 CT Acquisition) or its image headers carry kVp, DAP, Ka,r, CTDIvol
and DLP, and in which units the RDSR wrote DAP.  The Philips Veradius Unity mobile C-arm writes no kVp: its report
must say so, as a gap.
"""

import itertools
import json
import os
import subprocess
import sys
from collections import defaultdict

import pydicom
import pytest
from sqlalchemy import select

from conftest import CORPUS, ROOT
from corpus import dose_reports, images
from kerma.acceptance.report import device_report, devices
from kerma.api import Context, Request, handle
from kerma.db.models import Device, DoseObject
from kerma.extract import extract
from kerma.ingest.store import Processed, store_batch

PLUGIN = ROOT / "plugin"
# (DICOM concept code (DCM), image attribute) of each field compared
FIELDS = {"kvp": ("113733", "KVP"), "dap_Gycm2": ("122130", "ImageAndFluoroscopyAreaDoseProduct"),
          "ka_r_mGy": ("113738", None), "ctdivol_mGy": ("113830", "CTDIvol"), "dlp_mGycm": ("113838", None)}
EVENT_CONTAINERS = {"113706", "113819"}  # Irradiation Event X-Ray Data, CT Acquisition
# pydicom needs ~17 s to walk this report's content tree (thousands of items): its device is reported and counted, but
# its fields are not compared here (test_dicomfile compares every element Kerma reads of it with pydicom's)
UNREAD = {"openrem/RF-Pat-Orientation-Modifier-Missing.dcm"}
COMPARED = {"CT": ("ctdivol_mGy", "dlp_mGycm"), "DX": ("kvp", "dap_Gycm2"), "MG": ("kvp",), "RF": ("kvp", "dap_Gycm2", "ka_r_mGy")}


def _code(item) -> str | None:
    names = getattr(item, "ConceptNameCodeSequence", None)
    return names[0].CodeValue if names else None


def _numbers(item, inside: bool, found: dict) -> None:
    """Fields with a numeric value in the event containers below ``item``, and the units they were written in."""
    for child in getattr(item, "ContentSequence", []):
        code = _code(child)
        here = inside or code in EVENT_CONTAINERS
        if here and child.ValueType == "NUM" and getattr(child, "MeasuredValueSequence", None):
            value = child.MeasuredValueSequence[0]
            for name, (concept, _) in FIELDS.items():
                if code == concept and getattr(value, "NumericValue", None) not in (None, ""):
                    found.setdefault(name, set()).add(value.MeasurementUnitsCodeSequence[0].CodeValue)
        _numbers(child, here, found)


def dicom_fields(path) -> dict[str, set]:
    """What the file holds, read by pydicom: field -> units (an RDSR's UCUM codes; images: the attribute's name)."""
    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    found: dict[str, set] = {}
    if getattr(ds, "ContentSequence", None) is not None:
        _numbers(ds, False, found)
        return found
    # an image's attributes, also in the items of a CT dose screen's Exposure Dose Sequence, and Philips' private
    # DLP (ELSCINT1 (00E1,xx21)); an image attribute's unit is the standard's
    for item in [ds, *getattr(ds, "ExposureDoseSequence", [])]:
        for name, (_, keyword) in FIELDS.items():
            if keyword and getattr(item, keyword, None) not in (None, ""):
                found[name] = set()
        blocks = [b for b in range(0x10, 0x100) if str(getattr(item.get((0x00E1 << 16) | b), "value", "")).strip() == "ELSCINT1"]
        if any(item.get((0x00E1 << 16) | (b << 8) | 0x21) is not None for b in blocks):
            found["dlp_mGycm"] = set()
    return found


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory):
    from kerma.db.engine import make_engine, make_sessionmaker
    from kerma.db.schema import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('acceptance') / 'kerma.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    files = [*dose_reports(), *images()]
    records = [extract(path.read_bytes()) for path in files]
    seq = itertools.count(1)
    with sessions() as s, s.begin():
        store_batch(s, [Processed(next(seq), f"id-{i}", r) for i, r in enumerate(records)], last_seq=len(records) + 1)
    with sessions() as s:
        stored = {o.sop_instance_uid: (o.device_id, o.study.study_instance_uid) for o in s.scalars(
            select(DoseObject).where(DoseObject.status == "ok", DoseObject.device_id.is_not(None)))}
        reports = {d: device_report(s, d) for d in devices(s)}
    # what the files hold, per device and study: only those stored as an ok record of a device
    held: dict[int, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for path, record in zip(files, records):
        if record.status == "ok" and record.sop_instance_uid in stored:
            device, study = stored[record.sop_instance_uid]
            unread = str(path.relative_to(CORPUS)) in UNREAD
            held[device][study].append(None if unread else dicom_fields(path))
    yield sessions, reports, held
    engine.dispose()


def expected_fill(studies: dict[str, list[dict]], name: str) -> str:
    filled = sum(1 for found in studies.values() if any(name in f for f in found))
    return "never" if filled == 0 else "always" if filled == len(studies) else "sometimes"


def test_every_corpus_device_has_a_report_whose_fields_agree_with_the_dicom_files(corpus_db):
    sessions, reports, held = corpus_db
    with sessions() as s:
        assert set(reports) == set(s.scalars(select(Device.id))) and len(reports) >= 30
    compared = mismatches = 0
    problems, unread = [], []
    for device_id, report in reports.items():
        studies = held[device_id]
        assert report["studies"] == len(studies), report["device"]
        if any(found is None for files in studies.values() for found in files):
            unread.append(device_id)
            continue
        fields = {(f["level"], f["field"]): f for f in report["fields"]}
        for name in COMPARED.get(report["device"]["family"], ()):
            row = fields.get(("event", name))
            said = row["fill"] if row else "never"
            compared += 1
            if said != expected_fill(studies, name):
                mismatches += 1
                problems.append(f"{report['device']['manufacturer']} {report['device']['model']}: {name} report {said}, "
                                f"files {expected_fill(studies, name)}")
            # units: every unit the RDSRs wrote the field in (Gy.m2, dGy.cm2, mGy...), as pydicom reads them
            written = {u for found in studies.values() for f in found for u in f.get(name, ())}
            if row and written:
                assert set(row["units_seen"]) >= written, (report["device"], name, row["units_seen"], written)
    assert compared >= 40 and not problems, "\n".join(problems)
    assert len(unread) == len(UNREAD)


def test_the_mobile_c_arm_without_kvp_is_found(corpus_db):
    sessions, reports, held = corpus_db
    [report] = [r for r in reports.values() if r["device"]["model"] == "Veradius Unity"]
    kvp = next(f for f in report["fields"] if f["field"] == "kvp" and f["level"] == "event")
    assert kvp["fill"] == "never" and kvp["key"] and kvp["filled_studies"] == 0 and kvp["studies"] == 1
    assert any(g.startswith("kVp per event never filled") for g in report["gaps"])
    dap = next(f for f in report["fields"] if f["field"] == "dap_Gycm2" and f["level"] == "event")
    assert dap["fill"] == "always" and dap["units_seen"] == ["Gy.m2"]
    assert [s["source"] for s in report["sources"]] == ["rdsr"]
    # and the devices that write kVp are not reported without it
    with_kvp = [r for r in reports.values() if r["device"]["family"] == "RF"
                and any(f["field"] == "kvp" and f["fill"] == "always" for f in r["fields"])]
    assert len(with_kvp) >= 5


def test_the_report_over_rest_and_the_command_line(corpus_db, tmp_path):
    sessions, reports, held = corpus_db
    device_id = next(d for d, r in reports.items() if r["device"]["model"] == "Veradius Unity")
    status, answer = handle(Context(sessions), Request("GET", f"acceptance/devices/{device_id}", {}, None, "mpe",
                                                       roles=frozenset({"physicist"})))
    assert status == 200 and answer["device"].pop("device_name") == "Philips Medical Systems Veradius Unity"
    assert json.loads(json.dumps(answer)) == json.loads(json.dumps(reports[device_id]))
    status, listed = handle(Context(sessions), Request("GET", "acceptance/devices", {}, None, "mpe",
                                                       roles=frozenset({"physicist"})))
    assert status == 200 and len(listed["devices"]) == len(reports)
    assert handle(Context(sessions), Request("GET", "acceptance/devices/999999", {}, None, "mpe",
                                             roles=frozenset({"physicist"})))[0] == 404
    # the PDF, rendered in a process of its own, says the gap; the command line gives the same report
    status, pdf = handle(Context(sessions), Request("GET", f"acceptance/devices/{device_id}/pdf", {}, None, "mpe",
                                                    roles=frozenset({"physicist"})))
    assert status == 200 and pdf.content_type == "application/pdf" and pdf.text.startswith(b"%PDF")
    (tmp_path / "acceptance.pdf").write_bytes(pdf.text)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "acceptance.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "kVp per event never filled: 0 of 1 studies" in " ".join(text.split())
    url = str(sessions.kw["bind"].url)
    printed = subprocess.run([sys.executable, "-m", "kerma.cli", "acceptance", "Veradius Unity", "--url", url, "--json"],
                             check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(PLUGIN)}).stdout
    assert json.loads(printed) == json.loads(json.dumps(reports[device_id]))
