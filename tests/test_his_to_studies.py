"""What the HIS says reaches the dose studies: HL7 weight and height (with their source), A08/A31 demographics
(audited, previous values kept), and the matched order's procedure and indication as mapping-rule fields.

HL7 messages go through the receiver the MLLP listener calls (parse, apply in one transaction), on SQLite and
PostgreSQL; expectations are the values sent and the levels set up here.
"""

import datetime as dt
import itertools
from dataclasses import replace

import pytest
from sqlalchemy import select

from hl7_factory import adt_update, msa, orm
from kerma.classify.catalogue import add_site_exam
from kerma.db.models import Alert, AlertRule, AuditEntry, DrlSet, DrlValue, MappingRule, Study
from kerma.evaluate.rules import validated
from kerma.hl7.receiver import Hl7Receiver
from kerma.ingest.store import Processed, store_batch
from kerma.pipeline import refresh_due
from kerma.stats import tables
from kerma.record import DoseRecord
from records_factory import ct_study

_seq = itertools.count(1)
WEIGHT = "OBX|1|NM|29463-7^Body weight^LN||{}|kg|||||F"
HEIGHT = "OBX|2|NM|8302-2^Body height^LN||{}|cm|||||F"


def store(sessions, *records):
    with sessions() as s, s.begin():
        store_batch(s, [Processed(next(_seq), f"id-{next(_seq)}", r) for r in records], last_seq=next(_seq))


def worker_idle(sessions):
    """What the ingest worker does between batches: refresh the studies HL7 changed."""
    with sessions() as s, s.begin():
        refresh_due(s)


def study(sessions, uid) -> Study:
    with sessions() as s:
        return s.scalars(select(Study).where(Study.study_instance_uid == uid)).one()


def child_ct(patient_id: str, *, weight=None, dlp=400.0, day="2026-02-03") -> DoseRecord:
    record = ct_study(day, "CT-P1", "Head", [dlp / 10], [dlp], age=5.0, weight=weight, description="CT head child")
    return replace(record, patient=replace(record.patient, patient_id=patient_id, name="Child^Old", birth_date="2020-06-01"))


def test_hl7_weight_reaches_the_study_its_size_band_and_alerts(sessions):
    with sessions() as s, s.begin():
        exam = add_site_exam(s, "CT-HEAD-P", "CT head (child)", "CT")
        s.add(MappingRule(level="exam", priority=1, standard_exam_id=exam.id,
                          conditions=[{"field": "study_description", "op": "contains", "value": "head child"}]))
        s.add(DrlSet(name="Local paediatric CT", kind="local", enabled=True, values=[
            DrlValue(standard_exam_id=exam.id, patient_group="paediatric", weight_min_kg=15, weight_max_kg=30,
                     quantity="total_dlp_mGycm", level="exam", value=300.0),
            DrlValue(standard_exam_id=exam.id, patient_group="paediatric", weight_min_kg=30, weight_max_kg=50,
                     quantity="total_dlp_mGycm", level="exam", value=500.0)]))
        s.add(AlertRule(**validated({"name": "above the DRL", "kind": "drl", "level": "exam", "parameters": {"k": 1.0}}),
                        version=1))
    receiver = Hl7Receiver(sessions)
    assert msa(receiver(adt_update("HIS-CHILD-1", "CHILD^OLD", "20200601", "F")))[1] == "AA"  # the HIS knows the child
    unweighed, weighed = child_ct("HIS-CHILD-1"), child_ct("HIS-CHILD-1", weight=25.0)
    misfiled = child_ct("HIS-CHILD-1", weight=60.0)  # filed under the child's ID, but someone else
    misfiled = replace(misfiled, patient=replace(misfiled.patient, name="Other^Adult", birth_date="1960-01-01", sex="M"))
    store(sessions, unweighed, weighed, misfiled)
    with sessions() as s:  # a child without a weight falls in no weight band
        rows = tables.median_table(s, "total_dlp_mGycm", tables.Filters(), "all")
        assert {((r["drl"] or {}).get("value"), r["n"]) for r in rows} == {(300.0, 1), (None, 2)}
        assert {a.study_instance_uid for a in s.scalars(select(Alert).where(Alert.kind == "drl"))} == {
            weighed.study_instance_uid}

    # a change of the child's data, with a weight and height
    answer = receiver(adt_update("HIS-CHILD-1", "Child^New", "20200301", "F", WEIGHT.format(18), HEIGHT.format(110)))
    assert msa(answer)[1] == "AA"
    assert study(sessions, unweighed.study_instance_uid).refresh_due is True
    worker_idle(sessions)

    got = study(sessions, unweighed.study_instance_uid)
    assert (got.patient_weight_kg, got.patient_weight_source) == (18.0, "his")
    assert (got.patient_height_m, got.patient_height_source) == (pytest.approx(1.10), "his")
    assert (got.patient_name, got.patient_birth_date, got.patient_sex) == ("Child^New", dt.date(2020, 3, 1), "F")
    assert got.patient_age_years == 5.0  # 2020-03-01 to 2026-02-03
    kept = study(sessions, weighed.study_instance_uid)
    assert (kept.patient_weight_kg, kept.patient_weight_source) == (25.0, "dicom")  # the header's own value stays
    assert kept.patient_name == "Child^New"
    other = study(sessions, misfiled.study_instance_uid)  # disagreed with the HIS before: left for reconciliation
    assert (other.patient_name, other.patient_birth_date, other.patient_weight_kg) == ("Other^Adult", dt.date(1960, 1, 1), 60.0)

    with sessions() as s:
        rows = tables.median_table(s, "total_dlp_mGycm", tables.Filters(), "all")
        (row,) = [r for r in rows if r["drl"]]  # both children now in the 15-30 kg band
        assert row["n"] == 2 and row["drl"]["value"] == 300.0 and row["median_above_drl"] is True
        alerted = {a.study_instance_uid for a in s.scalars(select(Alert).where(Alert.kind == "drl"))}
        assert unweighed.study_instance_uid in alerted  # evaluated again once the HIS gave its weight
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "study.his_update",
                                                   AuditEntry.target_id == unweighed.study_instance_uid)).one()
        assert entry.before["patient_weight_kg"] is None and entry.before["patient_name"] == "Child^Old"
        assert entry.after["patient_name"] == "Child^New" and entry.after["patient_weight_source"] == "his"
        assert entry.before["patient_birth_date"] == "2020-06-01" and entry.after["patient_weight_kg"] == 18.0
        assert entry.actor == "hl7:TESTHIS"

    # a later HIS weight follows; the header's value still stays
    assert msa(receiver(adt_update("HIS-CHILD-1", "", "", "", WEIGHT.format(33), event="A31")))[1] == "AA"
    assert study(sessions, unweighed.study_instance_uid).patient_weight_kg == 33.0
    assert study(sessions, weighed.study_instance_uid).patient_weight_kg == 25.0


def test_a_study_stored_after_the_his_weight_takes_it_until_a_header_gives_one(sessions):
    receiver = Hl7Receiver(sessions)
    assert msa(receiver(adt_update("HIS-ADULT-2", "Adult^Two", "19700101", "M", WEIGHT.format(82))))[1] == "AA"
    first = child_ct("HIS-ADULT-2")
    store(sessions, first)
    got = study(sessions, first.study_instance_uid)
    assert (got.patient_weight_kg, got.patient_weight_source) == (82.0, "his")
    assert got.patient_name == "Child^Old"  # a new study keeps its header's demographics: mismatches list them

    second = child_ct("HIS-ADULT-2", weight=79.0)  # another object of the same study, with a measured weight
    second = replace(second, study_instance_uid=first.study_instance_uid)
    store(sessions, second)
    got = study(sessions, first.study_instance_uid)
    assert (got.patient_weight_kg, got.patient_weight_source) == (79.0, "dicom")
    with sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "study.header_update")).one()
        assert entry.before == {"patient_weight_kg": 82.0, "patient_weight_source": "his"}


def test_the_matched_order_procedure_and_indication_are_mapping_rule_fields(sessions):
    with sessions() as s, s.begin():
        trauma = add_site_exam(s, "CT-HEAD-TRAUMA", "CT head, trauma", "CT")
        s.add(MappingRule(level="exam", priority=1, standard_exam_id=trauma.id, conditions=[
            {"field": "order_procedure_code", "op": "equals", "value": "CTHEAD"},
            {"field": "order_clinical_indication", "op": "contains", "value": "trauma"}]))
    before, after = child_ct("ORD-P1"), child_ct("ORD-P2")
    before = replace(before, study=replace(before.study, accession_number="ORD-ACC-1"))
    after = replace(after, study=replace(after.study, accession_number="ORD-ACC-2"))
    receiver = Hl7Receiver(sessions)
    assert msa(receiver(orm("ORD-1", "ORD-P1", accession="ORD-ACC-1", reason="Head trauma, fall")))[1] == "AA"
    store(sessions, before, after)
    assert study(sessions, before.study_instance_uid).standard_exam_id == trauma.id  # order first, then the study
    assert study(sessions, after.study_instance_uid).standard_exam_id is None
    assert msa(receiver(orm("ORD-2", "ORD-P2", accession="ORD-ACC-2", reason="Trauma")))[1] == "AA"
    worker_idle(sessions)
    assert study(sessions, after.study_instance_uid).standard_exam_id == trauma.id  # the study first, then the order
