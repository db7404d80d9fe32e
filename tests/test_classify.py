"""Mapping rules: each condition type, priority, per-device override, re-mapping of history; the assistant."""


import pytest
from sqlalchemy import select

from corpus import CORPUS, dose_reports
from dicom_factory import copy_with
from kerma.classify import assistant
from kerma.classify.apply import remap_history
from kerma.classify.catalogue import add_site_exam, import_playbook
from kerma.classify.rules import Rule, RuleError, choose, conditions_of
from kerma.db.models import Device, IrradiationEvent, MappingRule, StandardExam
from kerma.extract import extract
from kerma.ingest.store import Processed, store_batch

PLAYBOOK = CORPUS.parent / "reference" / "radlex_playbook_ct_xr_mg_fl_xa.csv"


def rule(id, conditions, level="exposure", priority=100, device_id=None, modality=None, exam=1):
    return Rule(id, level, priority, exam, conditions_of(conditions), modality, device_id)


# --- pure rules ----------------------------------------------------------------------------------

def test_each_condition_type():
    context = {"protocol": "Thorax Routine", "scan_length_mm": 350.0, "modality": "CT", "device_id": 3}
    assert choose([rule(1, [{"field": "protocol", "op": "equals", "value": "thorax routine"}])], context, "exposure")
    assert not choose([rule(1, [{"field": "protocol", "op": "equals", "value": "thorax"}])], context, "exposure")
    assert choose([rule(1, [{"field": "protocol", "op": "contains", "value": "ROUTINE"}])], context, "exposure")
    assert choose([rule(1, [{"field": "protocol", "op": "regex", "value": r"^thor.*tine$"}])], context, "exposure")
    assert not choose([rule(1, [{"field": "protocol", "op": "regex", "value": r"^abd"}])], context, "exposure")
    assert choose([rule(1, [{"field": "scan_length_mm", "op": "range", "min": 300, "max": 400}])], context, "exposure")
    assert not choose([rule(1, [{"field": "scan_length_mm", "op": "range", "max": 300}])], context, "exposure")
    assert not choose([rule(1, [{"field": "absent", "op": "contains", "value": "x"}])], context, "exposure")
    # all conditions must hold
    both = [{"field": "protocol", "op": "contains", "value": "thorax"}, {"field": "scan_length_mm", "op": "range", "min": 400}]
    assert not choose([rule(1, both)], context, "exposure")
    # a list-valued field (an exam's protocols) holds when one element does
    assert choose([rule(1, [{"field": "protocol", "op": "equals", "value": "b"}], level="exam")], {"protocol": ["a", "b"]}, "exam")


def test_priority_device_override_and_level():
    context = {"protocol": "Chest PA", "modality": "DX", "device_id": 7}
    generic = rule(1, [{"field": "protocol", "op": "contains", "value": "chest"}], priority=10, exam=100)
    specific = rule(2, [{"field": "protocol", "op": "contains", "value": "chest pa"}], priority=5, exam=200)
    assert choose([generic, specific], context, "exposure").standard_exam_id == 200  # lower priority number first
    on_device = rule(3, [{"field": "protocol", "op": "contains", "value": "chest"}], priority=99, device_id=7, exam=300)
    assert choose([generic, specific, on_device], context, "exposure").standard_exam_id == 300  # device rules first
    assert choose([generic, specific, on_device], {**context, "device_id": 8}, "exposure").standard_exam_id == 200
    assert choose([rule(4, [{"field": "protocol", "op": "contains", "value": "chest"}], modality="CT")], context, "exposure") is None
    assert choose([generic], context, "exam") is None


def test_invalid_rules_are_refused():
    for conditions in ([], [{"field": "x", "op": "like", "value": "a"}], [{"field": "x", "op": "regex", "value": "("}],
                       [{"field": "x", "op": "range"}], [{"op": "equals", "value": 1}]):
        with pytest.raises(RuleError):
            conditions_of(conditions)


# --- on stored studies ---------------------------------------------------------------------------

def _store(sessions, blobs):
    with sessions() as s, s.begin():
        store_batch(s, [Processed(i + 1, f"id-{i}", extract(b)) for i, b in enumerate(blobs)], last_seq=len(blobs))


def test_playbook_import_and_rules_on_corpus_studies(sessions):
    _store(sessions, [p.read_bytes() for p in dose_reports()])
    with sessions() as s, s.begin():
        assert import_playbook(s, PLAYBOOK.read_text(encoding="utf-8")) > 2000
        chest_ct = s.scalars(select(StandardExam).where(StandardExam.code == "RPID16")).one()  # CT Chest wo IV contrast
        assert chest_ct.modality == "CT"
        s.add(MappingRule(level="exposure", priority=10, conditions=[{"field": "target_region", "op": "equals", "value": "Chest"}],
                          modality="CT", standard_exam_id=chest_ct.id))
        s.flush()
        remap_history(s)
    with sessions() as s:
        mapped = s.scalars(select(IrradiationEvent).where(IrradiationEvent.standard_exam_id == chest_ct.id)).all()
        # independent count: distinct CT events (a cumulative Siemens report repeats earlier ones) whose report
        # says Target Region = Chest
        expected = len({(r.study_instance_uid, e["irradiation_event_uid"]) for p in dose_reports()
                        for r in [extract(p.read_bytes())] if r.modality == "CT"
                        for e in r.events if e.get("target_region") == "Chest"})
        assert len(mapped) == expected > 0


def test_remapping_applies_to_history_and_device_overrides(sessions):
    base = CORPUS / "openrem/DX-Im-GE_XR220-1.dcm"
    blobs = [copy_with(base, StudyInstanceUID=f"1.2.826.0.1.3680043.9.{i}", ProtocolName=p, StationName=station)
             for i, (p, station) in enumerate([("ABD_1_VIEW", "ROOM1"), ("ABD_1_VIEW", "ROOM2"), ("Abd 1 view", "ROOM1"),
                                               ("CHEST PA", "ROOM1")])]
    _store(sessions, blobs)
    with sessions() as s, s.begin():
        abdomen = add_site_exam(s, "ABD-AP", "Abdomen AP", "DX")
        special = add_site_exam(s, "ABD-AP-R2", "Abdomen AP (room 2 protocol)", "DX")
        room2 = s.scalars(select(Device).where(Device.station_name == "ROOM2")).one()
        s.add(MappingRule(level="exposure", priority=50, conditions=[{"field": "protocol", "op": "regex", "value": r"abd.?1.?view"}],
                          standard_exam_id=abdomen.id))
        s.add(MappingRule(level="exposure", priority=90, device_id=room2.id,
                          conditions=[{"field": "protocol", "op": "contains", "value": "ABD"}], standard_exam_id=special.id))
        s.flush()
        assert remap_history(s) == 4
    with sessions() as s:
        by_station = {(e.device_id, e.protocol): e.standard_exam_id for e in s.scalars(select(IrradiationEvent))}
        stations = {d.id: d.station_name for d in s.scalars(select(Device))}
        named = {(stations[d], p): x for (d, p), x in by_station.items()}
        assert named[("ROOM1", "ABD_1_VIEW")] == abdomen.id
        assert named[("ROOM1", "Abd 1 view")] == abdomen.id
        assert named[("ROOM2", "ABD_1_VIEW")] == special.id  # the device's own rule wins over the global one
        assert named[("ROOM1", "CHEST PA")] is None
        unmapped = assistant.unmapped(s, "exposure")
        assert [(u["protocol"], u["count"]) for u in unmapped] == [("CHEST PA", 1)]


def test_duplicate_protocols_on_a_generated_set(sessions):
    base = CORPUS / "openrem/DX-Im-GE_XR220-1.dcm"
    names = ["Chest PA", "CHEST  P.A.", "chest-pa", "Knee LAT", "Knee Lat.", "Abdomen AP", "Hand DP"]
    _store(sessions, [copy_with(base, StudyInstanceUID=f"1.2.826.0.1.3680043.10.{i}", ProtocolName=n) for i, n in enumerate(names)])
    with sessions() as s:
        groups = sorted(sorted(d["protocols"]) for d in assistant.duplicate_protocols(s))
    assert groups == [sorted(["Chest PA", "CHEST  P.A.", "chest-pa"]), sorted(["Knee LAT", "Knee Lat."])]


def test_suggestions_rank_catalogue_names(sessions):
    with sessions() as s, s.begin():
        import_playbook(s, PLAYBOOK.read_text(encoding="utf-8"))
        best = assistant.suggestions(s, "CT Chest without contrast", "CT")[0]
    assert "chest" in best["name"].lower() and best["score"] > 0.5


def test_command_line_imports(tmp_path):
    import subprocess

    from conftest import ROOT

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    kerma = [str(ROOT / ".venv" / "bin" / "kerma")]
    out = subprocess.run(kerma + ["exams", "import-playbook", str(PLAYBOOK), "--url", url], check=True, capture_output=True, text=True)
    assert "2984 RadLex Playbook entries loaded" in out.stdout
    out = subprocess.run(kerma + ["drl", "load", str(CORPUS.parent / "reference" / "drl_reference_levels.csv"),
                                  "--reference-format", "--url", url], check=True, capture_output=True, text=True)
    assert "139 DRL values loaded" in out.stdout
