"""The MPPS listener process (pynetdicom SCP) against a real pynetdicom SCU, on SQLite and PostgreSQL.

Statuses are those PS3.4 F.7.2 and PS3.7 prescribe: 0x0111 Duplicate SOP Instance, 0x0112 No Such Object
Instance, 0x0110 Processing Failure with Error ID 0xA710 for an N-SET after the step ended, 0x0106 / 0x0120 for a
status that is wrong or missing.  Dose values are checked against what was sent, converted by hand
(see mpps_factory).
"""

import math
import socket
import threading
import time

import pytest
from pydicom.dataset import Dataset
from sqlalchemy import func, select

from kerma.api import Context, Request, handle
from kerma.config import Settings
from kerma.db.engine import make_engine, make_sessionmaker
from kerma.db.models import DoseObject, ImagingOrder, PerformedProcedureStep, Study
from kerma.db.schema import upgrade
from kerma.extract.mpps import attribute_rows, dose_report, step_facts
from kerma.modalities import Modality
from kerma.pipeline import refresh_due
from kerma.supervisor import ListenerSupervisor
from mpps_factory import (CALLING_AET, CT_EXPOSURES, completed_ct, completed_fluoroscopy, completed_without_dose,
                          created, new_uid, scu, serve_in_test_process_tree)
from support.orthanc import free_port
from conftest import ROOT, new_postgres_database

SUCCESS, INVALID_VALUE, FAILURE, DUPLICATE, NO_SUCH_INSTANCE, MISSING = 0x0000, 0x0106, 0x0110, 0x0111, 0x0112, 0x0120


class Listener:
    def __init__(self, port, sessions, supervisor, engine_name):
        self.port, self.sessions, self.supervisor, self.engine_name = port, sessions, supervisor, engine_name

    def api(self, path, query=None, roles=("viewer",), settings=None):
        """The REST API's answer once the ingest worker has refreshed the studies the listener marked."""
        with self.sessions() as session, session.begin():
            refresh_due(session)  # what the worker does between batches
        ctx = Context(self.sessions, settings=settings or Settings.defaults())
        status, answer = handle(ctx, Request("GET", path, query or {}, roles=frozenset(roles)))
        assert status == 200, answer
        return answer


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def listener(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('mpps') / 'kerma.sqlite'}"
    else:
        url = new_postgres_database(request.getfixturevalue("postgres"))
    upgrade(url)
    port = free_port()
    supervisor = ListenerSupervisor("MPPS", serve_in_test_process_tree, ("127.0.0.1", port, "KERMA", url, (Modality(CALLING_AET, "127.0.0.1"),),
                                                    True, 4), port, backoff=(0.2, 2.0))
    supervisor.start()
    deadline = time.monotonic() + 30
    while supervisor.state()["state"] != "listening":
        assert time.monotonic() < deadline, supervisor.state()
        time.sleep(0.05)
    engine = make_engine(url)
    yield Listener(port, make_sessionmaker(engine), supervisor, request.param)
    supervisor.stop()
    engine.dispose()


def _step(listener, uid) -> dict:
    (found,) = listener.api("mpps", {"study": uid})["steps"]
    return found


def test_a_completed_fluoroscopy_step_gives_an_mpps_record_in_the_units_of_its_field_names(listener):
    study, uid = new_uid(), new_uid()
    with scu(listener.port) as modality:
        assert modality.create(created(study), uid)[0] == (SUCCESS, None, None)
        assert _step(listener, study)["state"] == "in_progress"
        assert modality.set(completed_fluoroscopy(), uid) == (SUCCESS, None, None)
    with listener.sessions() as session:  # the listener stored the record and left the refresh to the ingest worker
        row = session.scalars(select(Study).where(Study.study_instance_uid == study)).one()
        assert (row.refresh_due, row.dose_source) == (True, None)
    answer = listener.api(f"studies/{study}")
    assert answer["source"] == "mpps" and answer["sources"] == {"RF": "mpps"}
    totals = answer["totals"]
    assert totals["dap_total_Gycm2"] == pytest.approx(12.34)  # 123.4 dGy.cm2
    assert totals["fluoro_time_total_s"] == 300 and totals["exposures_total"] == 2
    assert totals["entrance_dose_mGy"] == pytest.approx(2500)  # 25 dGy
    assert totals["procedure_step"] == {"exposed_area_mm": [200, 150], "source_entrance_distance_mm": 700,
                                        "comment": "two runs"}
    events = answer["events"]
    assert [(e["fluoro_mode"], e["kvp"], e["tube_current_mA"], e["exposure_time_s"]) for e in events] == \
        [("Pulsed", 80, 12.0, 5.0), ("Continuous", 70, 3.5, 240.0)]  # uA -> mA, ms -> s
    assert events[0]["filter_material"] == "COPPER\\ALUMINUM" and events[0]["filter_type"] == "FLAT"
    assert answer["patient"]["name"] == "Müller^Anna"  # ISO_IR 100 decoded
    assert (answer["study_date"], answer["accession_number"]) == ("2026-01-14", "ACC-MPPS-1")
    (record,) = answer["dose_objects"]
    assert (record["source"], record["sop_instance_uid"], record["orthanc_id"], record["warnings"]) == ("mpps", uid, None, [])
    with listener.sessions() as session:  # the columns statistics read
        row = session.scalars(select(Study).where(Study.study_instance_uid == study)).one()
        assert (row.total_dap_Gycm2, row.total_fluoro_time_s, row.dose_source) == (pytest.approx(12.34), 300, "mpps")
    step = _step(listener, study)
    assert (step["state"], step["discontinued"], step["dose_record"]["event_count"]) == ("completed", False, 2)


def test_ct_exposures_give_ctdivol_and_the_philips_dlp_read_by_its_private_creator(listener):
    study, uid = new_uid(), new_uid()
    with scu(listener.port) as modality:
        assert modality.create(created(study, modality="CT"), uid)[0][0] == SUCCESS
        assert modality.set(completed_ct(), uid)[0] == SUCCESS
    answer = listener.api(f"studies/{study}")
    assert answer["sources"] == {"CT": "mpps"}
    assert [(e["kvp"], e["ctdivol_mGy"], e["dlp_mGycm"]) for e in answer["events"]] == CT_EXPOSURES
    assert answer["totals"]["ct_dlp_total_mGycm"] == pytest.approx(sum(dlp for _, _, dlp in CT_EXPOSURES))


def test_a_discontinued_step_is_flagged_and_its_delivered_dose_kept_with_a_warning(listener):
    study, uid = new_uid(), new_uid()
    with scu(listener.port) as modality:
        modality.create(created(study), uid)
        assert modality.set(completed_fluoroscopy("DISCONTINUED"), uid)[0] == SUCCESS
    step = _step(listener, study)
    assert (step["state"], step["discontinued"]) == ("discontinued", True)
    assert step["discontinuation_reason"] == "Incorrect worklist entry selected"
    assert listener.api("mpps", {"state": "discontinued", "study": study})["total"] == 1
    (record,) = listener.api(f"studies/{study}")["dose_objects"]
    assert any("discontinued" in w and "Incorrect worklist entry selected" in w for w in record["warnings"])


def test_a_step_completed_without_dose_marks_its_order_performed_with_no_dose_received(listener):
    study, uid = new_uid(), new_uid()
    accession = f"ND-{uid[-8:]}"
    with listener.sessions() as session, session.begin():  # the RIS sent the order; it never said "completed"
        session.add(ImagingOrder(placer_order_number=accession, accession_number=accession, patient_id="MPPS-P1",
                                 status="scheduled"))
    with scu(listener.port) as modality:
        modality.create(created(study, accession=accession), uid)
        assert modality.set(completed_without_dose(), uid)[0] == SUCCESS
    step = _step(listener, study)
    assert (step["state"], step["dose_record"]) == ("completed", None)
    with listener.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DoseObject).where(DoseObject.sop_instance_uid == uid)) == 0
    settings = Settings.from_orthanc({"Kerma": {"NoDoseDelayHours": 0}})
    orders = {o["accession_number"]: o for o in listener.api("reconciliation/no-dose", settings=settings)["orders"]}
    assert orders[accession]["reason"] == "performed, no dose received"
    assert (orders[accession]["status"], orders[accession]["performed"]["sop_instance_uid"]) == ("scheduled", uid)
    assert listener.api("mpps", {"dose": "false", "study": study})["total"] == 1


def test_wrong_messages_get_the_status_the_standard_prescribes_and_lose_nothing(listener):
    study, uid = new_uid(), new_uid()
    with scu(listener.port) as modality:
        assert modality.set(completed_fluoroscopy(), new_uid())[0] == NO_SUCH_INSTANCE  # never created
        assert modality.create(created(study, status="COMPLETED"), new_uid())[0][0] == INVALID_VALUE
        assert modality.create(created(study, status=None), new_uid())[0][0] == MISSING
        assert modality.create(created(study), uid)[0][0] == SUCCESS
        assert modality.create(created(study), uid)[0][0] == DUPLICATE
        wrong = Dataset()
        wrong.PerformedProcedureStepStatus = "FINISHED"
        assert modality.set(wrong, uid)[0] == INVALID_VALUE
        assert _step(listener, study)["state"] == "in_progress"
        assert modality.set(completed_fluoroscopy(), uid)[0] == SUCCESS
        late = completed_fluoroscopy()
        late.ImageAndFluoroscopyAreaDoseProduct = "999"
        assert modality.set(late, uid) == (FAILURE, "Performed Procedure Step Object may no longer be updated", 0xA710)
        assert modality.echo() == SUCCESS  # the association goes on
    detail = listener.api(f"mpps/{uid}", roles=("admin",))
    assert detail["state"] == "completed" and detail["refused_count"] == 1
    assert detail["refused"][0]["attributes"]["0018115E"]["Value"] == [999.0]  # the refused N-SET is kept as received
    assert detail["attributes"]["0018115E"]["Value"] == [123.4]  # and changed nothing
    assert "00100010" not in detail["attributes"] and {"PatientName", "PatientID"} <= set(detail["withheld"])
    raw = listener.api(f"mpps/{uid}", {"raw": "1"}, roles=("admin",))
    assert raw["attributes"]["00100010"]["Value"] == [{"Alphabetic": "Müller^Anna"}] and raw["redacted"] is False
    answer = listener.api(f"studies/{study}")
    assert len(answer["dose_objects"]) == 1 and answer["totals"]["dap_total_Gycm2"] == pytest.approx(12.34)
    with listener.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PerformedProcedureStep)
                              .where(PerformedProcedureStep.study_instance_uid == study)) == 1


def test_garbage_gets_a_status_or_a_closed_connection_and_the_listener_keeps_serving(listener):
    uid = new_uid()
    with scu(listener.port) as modality:
        # a sequence that breaks off inside its first item: the data set cannot be decoded
        status, comment, _ = modality.raw_create(b"\x40\x00\x70\x02\xff\xff\xff\xff\xfe\xff\x00\xe0\x20\x00\x00\x00", uid)
        assert (status, comment) == (FAILURE, "the data set could not be decoded: OSError")
        # bytes that decode to a data set without the attributes of an MPPS
        assert modality.raw_create(b"\x08\x00\x20\x00\x10\x00\x00\x00" + b"garbage" * 10, uid)[0] == MISSING
        assert modality.echo() == SUCCESS
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as junk:  # not DICOM at all
        junk.sendall(b"GET / HTTP/1.0\r\n\r\n" * 100)
        junk.settimeout(10)
        try:
            while junk.recv(4096):
                pass
        except ConnectionResetError:
            pass  # closed: what matters is that the listener serves the next association
    study = new_uid()
    with scu(listener.port) as modality:
        assert modality.create(created(study), uid)[0][0] == SUCCESS  # the garbage under this UID was not kept
    assert listener.supervisor.state()["restarts"] == 0


def test_only_declared_modalities_calling_kermas_ae_title_may_associate(listener):
    with scu(listener.port, calling="STRANGER") as stranger:
        assert stranger is None
    with scu(listener.port, called="ORTHANC") as misdirected:
        assert misdirected is None
    with scu(listener.port) as declared:
        assert declared.echo() == SUCCESS


def test_two_modalities_creating_one_instance_at_once_get_success_and_duplicate(listener):
    study, uid = new_uid(), new_uid()
    statuses, ready = [], threading.Barrier(2)

    def create():
        with scu(listener.port) as modality:
            ready.wait()
            statuses.append(modality.create(created(study), uid)[0][0])

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [SUCCESS, DUPLICATE]


def test_a_database_outage_gets_send_it_again_and_the_retry_is_applied(listener, request):
    if listener.engine_name != "postgresql":
        pytest.skip("a real outage needs a server to stop")
    postgres = request.getfixturevalue("postgres")
    study, uid = new_uid(), new_uid()
    with scu(listener.port) as modality:
        assert modality.create(created(study), uid)[0][0] == SUCCESS
        postgres.stop()
        try:
            assert modality.set(completed_fluoroscopy(), uid) == (FAILURE, "database unavailable: send it again", None)
        finally:
            postgres.start()
        assert modality.set(completed_fluoroscopy(), uid)[0] == SUCCESS  # the modality sends it again
    assert listener.api(f"studies/{study}")["totals"]["dap_total_Gycm2"] == pytest.approx(12.34)


# --- the conversion alone (pure) -------------------------------------------------------------------------------


def _finished(*changes: Dataset) -> Dataset:
    ds = created("1.2.3")
    for change in changes:
        ds.update(change)
    return ds


def test_impossible_values_are_left_out_with_a_reason_never_stored():
    sent = completed_fluoroscopy()
    sent.ImageAndFluoroscopyAreaDoseProduct = "NaN"
    sent.EntranceDoseInmGy = "-3"
    sent.ExposureDoseSequence[0].KVP = "80\\90"
    record = dose_report(_finished(sent), "9.9")
    assert "dap_total_Gycm2" not in record.totals
    assert record.totals["entrance_dose_mGy"] == 2500  # EntranceDose (dGy) is used when the mGy value is refused
    assert record.events[0]["kvp"] is None
    assert any("ImageAndFluoroscopyAreaDoseProduct" in w for w in record.warnings)
    assert any("EntranceDoseInmGy: -3.0" in w for w in record.warnings)
    assert any("KVP: 2 values" in w for w in record.warnings)
    assert all(math.isfinite(v) for v in record.totals.values() if isinstance(v, float))


def test_a_step_without_radiation_dose_values_gives_no_record_and_its_facts_still():
    ds = _finished(completed_without_dose())
    assert dose_report(ds, "9.9") is None
    facts = step_facts(ds)
    assert (facts.state, facts.study_instance_uid, facts.accession_number, facts.performed_date) == \
        ("completed", "1.2.3", "ACC-MPPS-1", "2026-01-14")


def test_the_readme_names_every_field_and_attribute_an_mpps_gives():
    section = (ROOT / "README.md").read_text().split("\n## MPPS", 1)[1].split("\n## ", 1)[0]
    assert sorted(r.field for r in attribute_rows() if f"`{r.field}`" not in section) == []
    assert sorted(r.keyword for r in attribute_rows() if r.keyword.split(" ")[0] not in section) == []


def test_text_as_modalities_write_it_is_kept(listener):
    """NUL padding inside a value, a description far beyond its VR's length: the step and its record are kept."""
    study, uid = new_uid(), new_uid()
    sent = created(study)
    sent.PatientName = "Nul\x00Padded^Anna"
    sent.PerformedProcedureStepDescription = "x" * 5000
    with scu(listener.port) as modality:
        assert modality.create(sent, uid)[0][0] == SUCCESS
        assert modality.set(completed_fluoroscopy(), uid)[0] == SUCCESS
    answer = listener.api(f"studies/{study}")
    assert answer["patient"]["name"] == "NulPadded^Anna" and len(answer["performed_procedure"]) == 5000
    assert _step(listener, study)["dose_record"]["totals"]["dap_total_Gycm2"] == pytest.approx(12.34)
