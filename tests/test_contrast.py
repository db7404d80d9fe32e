"""Contrast media from image headers built here with pydicom (the classic and the Enhanced Contrast/Bolus modules) and
from HL7 OBX, each administration counted once per study, with its iodine and iodine per kg; values checked against
what the test wrote."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from corpus import CORPUS
from dicom_factory import ct_slice
from hl7_factory import message, pid
from kerma.extract import extract
from kerma.extract.contrast import study_contrast
from kerma.hl7.messages import read_message

CLASSIC = {"ContrastBolusAgent": "OMNIPAQUE 350", "ContrastBolusRoute": "IV", "ContrastBolusVolume": 80,
           "ContrastBolusTotalDose": 80, "ContrastBolusIngredient": "IODINE", "ContrastBolusIngredientConcentration": 350,
           "ContrastBolusStartTime": "101500", "ContrastBolusStopTime": "101530.25"}


def image(**extra) -> bytes:
    return ct_slice(generate_uid(), generate_uid(), generate_uid(), z=0.0, ctdivol=8.0, image_type="ORIGINAL\\PRIMARY\\AXIAL",
                    acquisition_number=1, thickness=1.0, instance=1, series_description="Abdomen", **extra)


def code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def test_the_contrast_bolus_module_gives_one_administration_with_its_iodine():
    record = extract(image(**CLASSIC))
    assert record.status == "ok"
    assert record.contrast == ({
        "contrast_agent": "OMNIPAQUE 350", "contrast_route": "IV", "contrast_volume_mL": 80.0,
        "contrast_total_dose_mL": 80.0, "contrast_ingredient": "IODINE", "contrast_concentration_mg_per_mL": 350.0,
        "contrast_start_time": "10:15:00", "contrast_stop_time": "10:15:30", "iodine_mg": 80 * 350.0},)
    assert extract(image()).contrast is None  # no module: no administration


def test_the_enhanced_module_counts_the_agents_its_usage_says_were_administered():
    iodinated = code("C-B0322", "SRT", "Iohexol")
    iodinated.ContrastBolusAgentNumber = 1
    iodinated.ContrastBolusAdministrationRouteSequence = [code("G-D101", "SRT", "Intravenous route")]
    iodinated.ContrastBolusIngredientCodeSequence = [code("C-11400", "SRT", "Iodine")]
    iodinated.ContrastBolusVolume, iodinated.ContrastBolusIngredientConcentration = 60, 300
    first, second = Dataset(), Dataset()
    first.ContrastBolusStartTime, first.ContrastBolusStopTime = "120000", "120020"
    second.ContrastBolusStartTime, second.ContrastBolusStopTime = "120020", "120045"
    iodinated.ContrastAdministrationProfileSequence = [first, second]
    oral = code("C-B0300", "SRT", "Barium sulfate")
    oral.ContrastBolusAgentNumber = 2
    oral.ContrastBolusVolume = 500
    usage = [Dataset(), Dataset()]
    usage[0].ContrastBolusAgentNumber, usage[0].ContrastBolusAgentAdministered = 1, "YES"
    usage[1].ContrastBolusAgentNumber, usage[1].ContrastBolusAgentAdministered = 2, "NO"
    shared = Dataset()
    shared.ContrastBolusUsageSequence = usage
    record = extract(image(ContrastBolusAgentSequence=[iodinated, oral], SharedFunctionalGroupsSequence=[shared]))
    (given,) = record.contrast
    assert (given["contrast_agent"], given["contrast_route"], given["contrast_ingredient"]) == \
        ("Iohexol", "Intravenous route", "Iodine")
    assert (given["contrast_start_time"], given["contrast_stop_time"]) == ("12:00:00", "12:00:45")  # first start, last stop
    assert (given["contrast_volume_mL"], given["iodine_mg"]) == (60.0, 60 * 300.0)


def test_zero_amounts_are_not_stated_and_a_module_without_agent_or_amount_is_no_administration():
    """The corpus's Elscint CT names Iodine, IV, with volume, total and concentration 0 (nobody entered them); a CR
    writes volume 0 and no agent: no administration."""
    (elscint,) = extract((CORPUS / "public/ct_image/orthanc-tests__2020-09-11-Christopher-ELSCINT1-Raw.dcm").read_bytes()).contrast
    assert (elscint["contrast_agent"], elscint["contrast_route"]) == ("Iodine", "IV")
    assert elscint["contrast_volume_mL"] is None and elscint["iodine_mg"] is None  # not 0
    assert not extract((CORPUS / "public/dx_cr_image/fo-dicom__chrJapMulti.dcm").read_bytes()).contrast


def test_implausible_and_unstated_values_give_no_iodine():
    record = extract(image(**{**CLASSIC, "ContrastBolusVolume": 1e9}))  # beyond any injector: refused, warned
    assert record.contrast[0]["contrast_volume_mL"] is None and record.contrast[0]["iodine_mg"] is None
    assert any("contrast_volume_mL" in w for w in record.warnings)
    record = extract(image(**{k: v for k, v in CLASSIC.items() if k != "ContrastBolusIngredient"}))
    assert record.contrast[0]["iodine_mg"] is None  # no ingredient stated: no iodine guessed from the name


def test_a_study_counts_an_administration_once_across_its_slices_and_prefers_the_headers():
    slices = [extract(image(**CLASSIC)).contrast[0] for _ in range(3)]
    second_bolus = {**slices[0], "contrast_volume_mL": 40.0, "contrast_start_time": "10:20:00", "contrast_stop_time": None}
    his = {"contrast_agent": "Omnipaque", "contrast_volume_mL": 100.0}
    kept = study_contrast([("header", s) for s in slices] + [("header", second_bolus), ("his", his)], weight_kg=80.0)
    assert kept["source"] == "header"
    assert [(a["source"], a["counted"]) for a in kept["administrations"]] == [("header", True), ("header", True), ("his", False)]
    assert kept["totals"] == {"contrast_volume_mL": 120.0, "iodine_mg": 80 * 350.0 + 40 * 350.0,
                              "iodine_mg_per_kg": pytest.approx((80 * 350.0 + 40 * 350.0) / 80.0)}
    only_his = study_contrast([("his", his)], weight_kg=None)
    assert only_his["totals"] == {"contrast_volume_mL": 100.0, "iodine_mg": None, "iodine_mg_per_kg": None}
    assert study_contrast([], 70.0) == {"administrations": [], "source": None,
                                        "totals": {"contrast_volume_mL": None, "iodine_mg": None, "iodine_mg_per_kg": None}}


def orm_with(*observations: str, accession: str = "ACC-C1") -> bytes:
    return message(pid("PC1"), "ORC|NW|PL-C1|FI-C1||SC", "OBR|1|PL-C1|FI-C1|CTABD^CT Abdomen^L" + "|" * 14 + accession,
                   *observations, event="O01", message_code="ORM")


def test_hl7_obx_states_the_contrast_of_an_order_per_sub_id():
    parsed = read_message(orm_with(
        "OBX|1|ST|ContrastBolusAgent||Iomeprol 400",
        "OBX|2|NM|0018,1041|1|0.1|L",  # 0.1 L = 100 mL
        "OBX|3|NM|^ContrastBolusIngredientConcentration|1|400|mg/mL",
        "OBX|4|ST|ContrastBolusIngredient|1|IODINE",
        "OBX|5|NM|ContrastBolusVolume|2|20|mL",
        "OBX|6|NM|ContrastBolusVolume|3|30|mL|||||D",  # deleted: dropped
        "OBX|7|NM|ContrastBolusVolume|4|lots|mL",  # not a number: dropped
        "OBX|8|NM|ContrastBolusVolume|5|20|kg",  # not a volume: dropped
        "OBX|9|NM|29463-7^Body weight^LN||80|kg"))  # not a contrast observation
    (order,) = parsed.orders
    assert order.accession_number == "ACC-C1"
    assert order.contrast == [
        {"sub_id": "", "contrast_agent": "Iomeprol 400"},
        {"sub_id": "1", "contrast_volume_mL": 100.0, "contrast_concentration_mg_per_mL": 400.0, "contrast_ingredient": "IODINE"},
        {"sub_id": "2", "contrast_volume_mL": 20.0}]
    result = read_message(message(pid("PC1"), "OBR|1|PL-C1|FI-C1|CTABD^CT Abdomen^L" + "|" * 14 + "ACC-C1" + "|" * 7 + "F",
                                  "OBX|1|NM|ContrastBolusVolume||75|mL", event="R01", message_code="ORU"))
    assert result.kind == "order" and not result.orders[0].has_request  # a result never creates an order
    assert result.orders[0].contrast == [{"sub_id": "", "contrast_volume_mL": 75.0}]


def test_stored_contrast_reaches_the_study_its_exports_and_statistics_on_both_engines(sessions):
    """Three slices of one study stating one bolus (iodine per kg from the header's weight); a second study whose
    images state none gets the HIS's (an ORM's OBX, through the HL7 receiver) once the worker refreshes it."""
    import csv
    import io
    import json

    from sqlalchemy import select

    from kerma import access
    from kerma.api import Context, Request, handle
    from kerma.db.models import Study
    from kerma.hl7.receiver import Hl7Receiver
    from kerma.ingest.store import Processed, store_batch
    from kerma.pipeline import refresh_due

    study, plain = generate_uid(), generate_uid()
    frame = generate_uid()
    blobs = [ct_slice(study, generate_uid(), frame, z=float(z), ctdivol=8.0, image_type="ORIGINAL\\PRIMARY\\AXIAL",
                      acquisition_number=1, thickness=1.0, instance=z + 1, series_description="Abdomen",
                      PatientWeight=70, **CLASSIC) for z in range(3)]
    blobs.append(ct_slice(plain, generate_uid(), generate_uid(), z=0.0, ctdivol=8.0, image_type="ORIGINAL\\PRIMARY\\AXIAL",
                          acquisition_number=1, thickness=1.0, instance=1, series_description="Abdomen",
                          AccessionNumber="ACC-C1"))
    with sessions() as session, session.begin():
        store_batch(session, [Processed(i + 1, f"id-{i}", extract(b)) for i, b in enumerate(blobs)], last_seq=len(blobs))
    assert read_message(orm_with("OBX|1|NM|ContrastBolusVolume||90|mL")).orders  # the message the HIS sends
    assert b"MSA|AA" in Hl7Receiver(sessions)(orm_with("OBX|1|NM|ContrastBolusVolume||90|mL"))
    with sessions() as session, session.begin():
        assert refresh_due(session) == 1

    ctx = Context(sessions)

    def get(path, query=None):
        status, answer = handle(ctx, Request("GET", path, query or {}, None, "reader", roles=frozenset({access.VIEWER})))
        assert status == 200, answer
        return answer

    view = get(f"studies/{study}")
    assert [a["contrast_volume_mL"] for a in view["contrast"]] == [80.0]  # three slices, one administration
    assert view["exam_totals"]["total_contrast_volume_mL"] == 80.0
    assert view["exam_totals"]["total_iodine_mg"] == 80 * 350.0
    assert view["exam_totals"]["total_iodine_mg_per_kg"] == pytest.approx(80 * 350.0 / 70)
    other = get(f"studies/{plain}")
    assert [(a["source"], a["contrast_volume_mL"]) for a in other["contrast"]] == [("his", 90.0)]
    assert other["exam_totals"] == {**other["exam_totals"], "total_contrast_volume_mL": 90.0}
    assert "total_iodine_mg" not in other["exam_totals"]  # not stated: absent, never 0
    rows = list(csv.DictReader(io.StringIO(get("studies", {"format": "csv"}).text)))
    exported = {r["study_instance_uid"]: json.loads(r["exam_totals"]) for r in rows}
    assert exported[study]["total_iodine_mg"] == 80 * 350.0 and exported[plain]["total_contrast_volume_mL"] == 90.0
    (iodine,) = get("statistics", {"quantity": "total_iodine_mg", "period": "all"})["statistics"]
    assert (iodine["n"], iodine["median"]) == (1, 80 * 350.0)  # the study without a stated iodine is not a 0
    with sessions() as session:
        assert session.scalar(select(Study.total_iodine_mg).where(Study.study_instance_uid == study)) == 80 * 350.0


# The studies of the tests below, as their images state them (values worked out here from what the test writes):
# 80 mL of 350 mg iodine/mL = 28,000 mg, per kg of 70 kg = 400 mg/kg; 100 mL of 300 mg/mL = 30,000 mg, of 60 kg = 500.
DOSED = {"A": ({**CLASSIC}, 70, 80.0, 80 * 350.0, 80 * 350.0 / 70),
         "B": ({**CLASSIC, "ContrastBolusAgent": "ULTRAVIST 300", "ContrastBolusVolume": 100, "ContrastBolusTotalDose": 100,
                "ContrastBolusIngredientConcentration": 300}, 60, 100.0, 100 * 300.0, 100 * 300.0 / 60)}
JANUARY = ("2026-01-01", "2026-01-31")  # ct_slice's StudyDate is 2026-01-01
DESCRIPTION = "CT abdomen with contrast"


@pytest.fixture
def dosed(sessions, tmp_path):
    """Studies A and B with their contrast in the headers (A on three slices), C without: (call, sessions, uids)."""
    from dataclasses import replace

    from kerma import access
    from kerma.api import Context, Request, handle
    from kerma.config import Settings
    from kerma.ingest.store import Processed, store_batch

    uids = {name: generate_uid() for name in "ABC"}
    blobs = [ct_slice(uids[name], generate_uid(), generate_uid(), z=float(z), ctdivol=8.0,
                      image_type="ORIGINAL\\PRIMARY\\AXIAL", acquisition_number=1, thickness=1.0, instance=z + 1,
                      series_description="Abdomen", PatientWeight=weight, PatientID=f"PAT-{name}",
                      StudyDescription=DESCRIPTION, **module)
             for name, (module, weight, *_) in DOSED.items() for z in range(3 if name == "A" else 1)]
    blobs.append(ct_slice(uids["C"], generate_uid(), generate_uid(), z=0.0, ctdivol=8.0, image_type="ORIGINAL\\PRIMARY\\AXIAL",
                          acquisition_number=1, thickness=1.0, instance=1, series_description="Abdomen", PatientWeight=80))
    with sessions() as session, session.begin():
        store_batch(session, [Processed(i + 1, f"id-{i}", extract(b)) for i, b in enumerate(blobs)], last_seq=len(blobs))
    ctx = Context(sessions, settings=replace(Settings.defaults(), pseudonymisation_key_file=str(tmp_path / "kerma.key")))

    def call(method, path, query=None, body=None):
        return handle(ctx, Request(method, path, query or {}, body, "physicist", roles=frozenset({access.ADMIN})))
    return call, sessions, uids


def test_contrast_statistics_come_from_the_month_table_and_no_drl_or_alert_rule_takes_them(dosed):
    import datetime as dt

    from kerma.db import states
    from kerma.stats import monthly, refresher
    from kerma.stats.tables import Filters

    call, sessions, uids = dosed
    with sessions() as session, session.begin():
        states.mark_months_stale(session)
        while refresher.refresh(session):
            pass
    expected = {"total_contrast_volume_mL": [d[2] for d in DOSED.values()], "total_iodine_mg": [d[3] for d in DOSED.values()],
                "total_iodine_mg_per_kg": [d[4] for d in DOSED.values()]}
    for quantity, values in expected.items():
        with sessions() as session:  # the month table keeps it ((exam, device, month, ...), figures); study C, with no
            # contrast, is no 0 among the values
            kept, stale = monthly.read(session, quantity, Filters(dt.date(2026, 1, 1), dt.date(2026, 1, 31)))
        assert stale == set()
        assert [(group[2], r["n"], r["median"], r["min"], r["max"]) for group, r in kept] == \
            [("2026-01", 2, pytest.approx(sum(values) / 2), pytest.approx(min(values)), pytest.approx(max(values)))], quantity
        status, answer = call("GET", "statistics", {"quantity": quantity, "date_from": JANUARY[0], "date_to": JANUARY[1]})
        assert status == 200 and answer["level"] == "exam"
        (row,) = answer["statistics"]
        assert (row["n"], row["median"], row["drl"]) == (2, pytest.approx(sum(values) / 2), None)
    listed = {q["key"]: q for q in call("GET", "quantities", {"statistic": "1"})[1]["quantities"]}
    assert {k for k, q in listed.items() if not q["radiation"]} == set(expected)
    assert all(listed[k]["summarised"] for k in expected)

    # contrast media are no radiation dose: no DRL value, no alert rule of any kind compares them
    status, local = call("POST", "drl/sets", body={"name": "local contrast", "kind": "local"})
    exam = call("POST", "exams", body={"code": "CT-ABD-C", "name": "CT abdomen with contrast", "modality": "CT"})[1]
    for quantity in expected:
        status, answer = call("POST", f"drl/sets/{local['id']}/values",
                              body={"standard_exam_id": exam["id"], "quantity": quantity, "value": 30000.0})
        assert status == 400 and "no radiation dose" in answer["error"], answer
        for kind, parameters in (("absolute", {"threshold": 1.0}), ("drl", {}), ("cumulative", {"threshold": 1.0})):
            status, answer = call("POST", "alerts/rules", body={"name": f"{kind} {quantity}", "kind": kind, "quantity": quantity,
                                                                "parameters": parameters, "notify_roles": ["mpe"]})
            assert status == 400 and quantity in answer["error"], (kind, answer)
    assert call("POST", f"drl/sets/{local['id']}/values",  # a dose quantity still takes one
                body={"standard_exam_id": exam["id"], "quantity": "total_dlp_mGycm", "value": 600.0})[0] == 200


def test_contrast_reaches_the_studies_list_its_exports_and_the_monthly_report(dosed):
    import csv
    import datetime as dt
    import io
    import json

    from kerma.reports.charts import number
    from kerma.reports.data import report_data
    from kerma.reports.layout import sections

    call, sessions, uids = dosed
    status, listed = call("GET", "studies", {"sort": "total_iodine_mg", "order": "desc"})
    assert status == 200, listed
    assert [s["study_instance_uid"] for s in listed["studies"]][:2] == [uids["B"], uids["A"]]  # 30,000 mg, then 28,000

    def exported(**privacy):
        status, answer = call("GET", "studies", {"format": "csv", **privacy})
        assert status == 200, answer
        return {r["study_instance_uid"]: r for r in csv.DictReader(io.StringIO(answer.text))}

    identified = exported()
    for name, (module, weight, volume, iodine, per_kg) in DOSED.items():
        row = identified[uids[name]]
        totals, (given,) = json.loads(row["exam_totals"]), json.loads(row["contrast"])
        assert (given["contrast_agent"], given["contrast_volume_mL"], given["iodine_mg"]) == \
            (module["ContrastBolusAgent"], volume, iodine)
        assert totals["total_contrast_volume_mL"] == volume and totals["total_iodine_mg"] == iodine
        assert totals["total_iodine_mg_per_kg"] == pytest.approx(per_kg)
    plain = json.loads(identified[uids["C"]]["exam_totals"])
    assert not {"total_contrast_volume_mL", "total_iodine_mg", "total_iodine_mg_per_kg"} & set(plain)  # absent, not 0
    assert json.loads(identified[uids["C"]]["contrast"]) == []  # no administration

    def by_agent(rows):  # the UIDs an anonymised export hashes: its rows found by their agent
        return {json.loads(r["contrast"])[0]["contrast_agent"]: r for r in rows.values() if json.loads(r["contrast"])}

    pseudonymised, anonymised = by_agent(exported(pseudonymise="1")), by_agent(exported(anonymise="1"))
    for name, (module, weight, volume, iodine, per_kg) in DOSED.items():
        kept = pseudonymised[module["ContrastBolusAgent"]]  # the values are no identifiers: all kept
        assert json.loads(kept["exam_totals"])["total_iodine_mg_per_kg"] == pytest.approx(per_kg)
        assert json.loads(kept["contrast"])[0]["contrast_start_time"] == "10:15:00"
        hidden = anonymised[module["ContrastBolusAgent"]]
        totals, (given,) = json.loads(hidden["exam_totals"]), json.loads(hidden["contrast"])
        assert (totals["total_contrast_volume_mL"], totals["total_iodine_mg"]) == (volume, iodine)
        # iodine / iodine per kg would be the exact weight anonymised exports band; the times go as every time does
        assert "total_iodine_mg_per_kg" not in totals and "weight_kg" not in json.loads(hidden["patient"])
        assert "contrast_start_time" not in given and "contrast_stop_time" not in given
        assert given["iodine_mg"] == iodine and given["contrast_volume_mL"] == volume

    with sessions() as session:
        data = report_data(session, dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    table = next(s for s in sections(data, {}) if s.title.startswith("Contrast media"))
    assert table.columns == ["date", "study", "agent", "source", "contrast volume (mL)", "iodine (mg)", "iodine per kg (mg/kg)"]
    assert sorted(table.rows) == sorted(
        ["2026-01-01", DESCRIPTION, module["ContrastBolusAgent"], "header", number(volume), number(iodine), number(per_kg)]
        for module, weight, volume, iodine, per_kg in DOSED.values())  # study C, without contrast, is not listed


def test_the_his_states_the_contrast_and_the_weight_of_a_study_whose_images_state_neither(sessions):
    """An ORM's OBX (through the HL7 receiver) for a CT image without contrast module or weight: 90 mL of
    370 mg iodine/mL = 33,300 mg; the order's body weight, 75 kg: 444 mg/kg."""
    from kerma import access
    from kerma.api import Context, Request, handle
    from kerma.hl7.receiver import Hl7Receiver
    from kerma.ingest.store import Processed, store_batch
    from kerma.pipeline import refresh_due

    uid = generate_uid()
    blob = ct_slice(uid, generate_uid(), generate_uid(), z=0.0, ctdivol=8.0, image_type="ORIGINAL\\PRIMARY\\AXIAL",
                    acquisition_number=1, thickness=1.0, instance=1, series_description="Abdomen", AccessionNumber="ACC-C1",
                    PatientID="PC1")  # the patient of the order
    assert extract(blob).patient.weight_kg is None  # the image states no weight
    with sessions() as session, session.begin():
        store_batch(session, [Processed(1, "id-1", extract(blob))], last_seq=1)
    order = orm_with("OBX|1|ST|ContrastBolusAgent||Iopromide 370", "OBX|2|NM|ContrastBolusVolume||90|mL",
                     "OBX|3|NM|ContrastBolusIngredientConcentration||370|mg/mL", "OBX|4|ST|ContrastBolusIngredient||IODINE",
                     "OBX|5|NM|29463-7^Body weight^LN||75|kg")
    assert b"MSA|AA" in Hl7Receiver(sessions)(order)
    with sessions() as session, session.begin():
        assert refresh_due(session) == 1
    status, view = handle(Context(sessions), Request("GET", f"studies/{uid}", {}, None, "reader",
                                                      roles=frozenset({access.VIEWER})))
    assert status == 200 and view["patient"]["weight_kg"] == 75.0
    assert [(a["source"], a["contrast_agent"], a["iodine_mg"]) for a in view["contrast"]] == [("his", "Iopromide 370", 90 * 370.0)]
    assert view["exam_totals"]["total_contrast_volume_mL"] == 90.0
    assert view["exam_totals"]["total_iodine_mg"] == 90 * 370.0
    assert view["exam_totals"]["total_iodine_mg_per_kg"] == pytest.approx(90 * 370.0 / 75)
