"""HL7 over a real MLLP socket into the dose database (SQLite and PostgreSQL): ACK/NAK, ADT, merges, orders."""

import datetime as dt
import socket
import time

import pytest
from sqlalchemy import func, select, text

from hl7_factory import (adt_merge, adt_update, control_id_of, corpus_messages, message, msa, orm, pid,
                         store_reports)
from kerma.api import Context, handle
from kerma.api import Request as ApiRequest
from kerma.config import ListenerLimits
from kerma.db.models import Hl7Message, ImagingOrder, PatientRecord, Study
from kerma.hl7.messages import read_message
from kerma.hl7.mllp import START_BLOCK, FrameReader, MllpServer, send
from kerma.hl7.receiver import Hl7Receiver


def Request(*args, **kwargs):  # these tests act as an admin; who may call what is tested in test_access.py
    return ApiRequest(*args, roles=frozenset({"admin"}), **kwargs)


@pytest.fixture
def listener(sessions):
    receiver = Hl7Receiver(sessions)
    server = MllpServer("127.0.0.1", 0, receiver, receiver.refuse_frame, ListenerLimits(frame_seconds=1.0)).start()
    yield server
    server.stop()


def exchange(listener, *messages):
    return send("127.0.0.1", listener.port, list(messages))


def test_every_corpus_message_is_parsed_and_acked(listener, sessions):
    paths = corpus_messages()
    raws = [p.read_bytes() for p in paths]
    assert {b"\r" in r for r in raws} | {b"\n" in r for r in raws} >= {True}  # the corpus mixes separators
    answers = exchange(listener, *raws)
    for path, raw, answer in zip(paths, raws, answers):
        assert msa(answer)[1:3] == ["AA", control_id_of(raw)], (path.name, answer)
    with sessions() as session:
        kept = session.scalars(select(Hl7Message).order_by(Hl7Message.id)).all()
        assert [m.ack_code for m in kept] == ["AA"] * len(paths)
        assert {m.version for m in kept} == {"2.3", "2.5.1", "2.6", "2.8"}
        assert kept[0].raw.startswith("MSH|^~\\&|ADTApp")  # kept as received, for audit
        patients = {r.patient_id: r for r in session.scalars(select(PatientRecord))}
        assert patients["10006579"].name == "DUCK^DONALD^D"
        assert patients["10006579"].birth_date == dt.date(1924, 10, 10)
        assert patients["PATID1234"].identifiers[1] == {"id": "123456789", "authority": "USSSA", "type": "SS"}
        assert patients["56789"].merged_into == "12345"  # the A40 sample
        orders = {o.placer_order_number: o for o in session.scalars(select(ImagingOrder))}
        # ORM-O01-06 is a pharmacy order without an OBR: acknowledged, not an imaging order
        assert set(orders) == {"1101", "2203"}
        assert (orders["2203"].procedure_code, orders["2203"].procedure_text) == ("24590-2", "MR Brain")
        assert orders["1101"].clinical_indication == "Traumatic brain injury"


def test_garbage_and_truncated_messages_get_a_nak_with_a_reason_and_the_listener_goes_on(listener, sessions):
    order = (corpus_messages()[10]).read_bytes()  # ORM-O01-01
    assert b"ORM^O01" in order
    truncated_order = order[:order.index(b"\nORC|") + len(b"\nORC|NW")]  # cut before the order numbers
    truncated_header = order[:60]  # cut inside MSH, before the message type and version
    garbage = bytes(b for b in range(256) if b not in (0x0B, 0x1C)) * 4  # every byte but MLLP's frame markers
    answers = exchange(listener, garbage, truncated_order, truncated_header, adt_update("P1", "A^B", "19800101", "F"))
    codes = [msa(a)[1] for a in answers]
    assert codes == ["AE", "AE", "AR", "AA"]
    assert "does not begin with an MSH segment" in msa(answers[0])[3]
    assert "ORC-2/ORC-3" in msa(answers[1])[3]
    assert "MSH-12" in msa(answers[2])[3]
    assert "ERR|" in answers[1].decode()
    with sessions() as session:
        refused = session.scalars(select(Hl7Message).where(Hl7Message.ack_code != "AA").order_by(Hl7Message.id)).all()
        assert [bool(m.error) for m in refused] == [True, True, True]


def test_broken_frames_are_refused_and_the_connection_keeps_serving(listener):
    good = adt_update("P2", "C^D", "19700101", "M")
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as connection:
        reader = FrameReader(connection)
        # a frame cut short by the next one: refused, the next one answered
        connection.sendall(START_BLOCK + good[:40] + START_BLOCK + good + b"\x1c\r")
        assert "new message began" in msa(reader.next())[3]
        assert msa(reader.next())[1] == "AA"
        # a frame whose end never comes: refused after the frame timeout (1 s here)
        started = time.monotonic()
        connection.sendall(START_BLOCK + good[:40])
        assert "no end block" in msa(reader.next())[3]
        assert 0.9 < time.monotonic() - started < 5
        connection.sendall(START_BLOCK + good + b"\x1c\r")
        assert msa(reader.next())[1] == "AA"


def test_unsupported_types_events_and_versions_are_rejected(listener):
    answers = exchange(listener,
                       message("OBR|1", event="S12", message_code="SIU"),
                       message("EVN|A02", pid("P3"), event="A02"),
                       message("EVN|A08", pid("P3"), version="2.2"),
                       message("EVN|A08", "PID|1||^^^HOSP^MR||NAME^ONLY"))
    assert [msa(a)[1] for a in answers] == ["AR", "AR", "AR", "AE"]
    assert "SIU^S12 is not processed" in msa(answers[0])[3]
    assert "ADT^A02 is not processed" in msa(answers[1])[3]
    assert "'2.2' is not supported" in msa(answers[2])[3]
    assert "PID-3 has no patient identifier" in msa(answers[3])[3]


def test_declared_encoding_characters_and_escapes_are_honoured():
    original = (corpus_messages()[7]).read_bytes().decode("utf-8-sig")  # ADT01-28, v2.5.1, LF separators
    assert "ADT^A01" in original
    swapped = original.translate(str.maketrans({"|": "#", "^": "$", "~": "%", "\\": "@", "&": "*"}))
    swapped = swapped.replace("EVERYMAN", "EVERY@T@MAN").replace("\n", "\r\n")  # @T@ = the subcomponent separator
    parsed, reference = read_message(swapped.encode()), read_message(original.encode())
    assert parsed.header.encoding.field == "#" and parsed.header.encoding.component == "$"
    assert parsed.patient.patient_id == reference.patient.patient_id == "PATID1234"
    assert parsed.patient.name == "EVERY*MAN^ADAM^A^^III"
    assert reference.patient.name == "EVERYMAN^ADAM^A^^III"
    assert parsed.patient.identifiers == reference.patient.identifiers


def test_adt_updates_demographics_with_height_and_weight_from_obx(listener, sessions):
    observations = ("OBX|1|NM|8302-2^Body height^LN||180|cm|||||F", "OBX|2|NM|29463-7^Body weight^LN||165|[lb_av]|||||F")
    answers = exchange(listener, adt_update("P4", "OLD^NAME", "19600229", "F", *observations, event="A01"),
                       adt_update("P4", "NEW^NAME^M", "", "", event="A31"))
    assert [msa(a)[1] for a in answers] == ["AA", "AA"]
    with sessions() as session:
        record = session.scalars(select(PatientRecord).where(PatientRecord.patient_id == "P4")).one()
        assert record.name == "NEW^NAME^M"
        assert record.birth_date == dt.date(1960, 2, 29)  # not sent again: kept
        assert record.sex == "F"
        assert record.height_m == pytest.approx(1.80)
        assert record.weight_kg == pytest.approx(74.84, abs=0.01)


def test_a40_merge_moves_the_dose_records_and_undo_restores_them(listener, sessions):
    uids = store_reports(sessions, [
        {"key": "old-1", "PatientID": "OLD-7", "PatientName": "Temp^Name"},
        {"key": "old-2", "PatientID": "OLD-7", "PatientName": "Temp^Name"},
        {"key": "survivor", "PatientID": "KEEP-7", "PatientName": "Right^Name"},
        {"key": "other", "PatientID": "OTHER-7", "PatientName": "Other^Name"},
    ])
    exchange(listener, orm("ORD-OLD", "OLD-7"))
    answer = exchange(listener, adt_merge("KEEP-7", "OLD-7", "RIGHT^NAME"))[0]
    assert msa(answer)[1] == "AA"

    def patients():
        with sessions() as session:
            studies = {s.study_instance_uid: (s.patient_id, s.patient_name) for s in session.scalars(select(Study))}
            orders = {o.placer_order_number: o.patient_id for o in session.scalars(select(ImagingOrder))}
        return {key: studies[uid] for key, uid in uids.items()}, orders

    moved, orders = patients()
    assert moved == {"old-1": ("KEEP-7", "RIGHT^NAME"), "old-2": ("KEEP-7", "RIGHT^NAME"),
                     "survivor": ("KEEP-7", "Right^Name"), "other": ("OTHER-7", "Other^Name")}
    assert orders == {"ORD-OLD": "KEEP-7"}
    ctx = Context(sessions)
    status, merges = handle(ctx, Request("GET", "hl7/merges", {"patient_id": "OLD-7"}))
    assert status == 200 and [(m["study_count"], m["order_count"]) for m in merges["merges"]] == [(2, 1)]

    status, undone = handle(ctx, Request("POST", f"hl7/merges/{merges['merges'][0]['id']}/undo",
                                         body={"note": "wrong merge"}, user="physicist"))
    assert status == 200 and sorted(undone["restored"]) == sorted([uids["old-1"], uids["old-2"]])
    restored, orders = patients()
    assert restored == {"old-1": ("OLD-7", "Temp^Name"), "old-2": ("OLD-7", "Temp^Name"),
                        "survivor": ("KEEP-7", "Right^Name"), "other": ("OTHER-7", "Other^Name")}
    assert orders == {"ORD-OLD": "OLD-7"}
    status, again = handle(ctx, Request("POST", f"hl7/merges/{merges['merges'][0]['id']}/undo", user="physicist"))
    assert status == 409
    status, trail = handle(ctx, Request("GET", "audit", {"action": "patient.merge"}))
    assert [(e["action"], e["actor"]) for e in trail["entries"]] == [("patient.merge.undo", "physicist"),
                                                                   ("patient.merge", "hl7:TESTHIS")]
    assert trail["entries"][0]["note"] == "wrong merge"


def test_orders_follow_status_changes_and_cancellations(listener, sessions):
    omi = message(pid("P5"), "ORC|NW|OMI-1^HIS|||SC", "TQ1|1||||||20260111143000",
                  "OBR|1|OMI-1^HIS||RPID22^CT Chest^RADLEX", "IPC|ACC-OMI|RP1|1.2.3.4.5|SPS1|CT",
                  event="O23", structure="OMI_O23", message_code="OMI", version="2.5.1")
    answers = exchange(listener,
                       orm("ORD-5", "P5", accession="ACC-5", reason="Suspected fracture", department="Emergency"),
                       orm("ORD-5", "P5", control="SC", order_status="IP"),
                       orm("ORD-5", "P5", control="SC", order_status="CM"),
                       orm("ORD-6", "P5"), orm("ORD-6", "P5", control="CA", order_status="CA"),
                       omi, orm("ORD-UNKNOWN", "P5", control="SC", order_status="CM").replace(b"\rOBR|", b"\rNTE|"))
    assert [msa(a)[1] for a in answers] == ["AA"] * 7
    with sessions() as session:
        orders = {o.placer_order_number: o for o in session.scalars(select(ImagingOrder))}
        outcomes = [m.outcome for m in session.scalars(select(Hl7Message).order_by(Hl7Message.id))]
    assert set(orders) == {"ORD-5", "ORD-6", "OMI-1"}
    five = orders["ORD-5"]
    assert (five.status, five.order_status, five.accession_number) == ("completed", "CM", "ACC-5")
    assert five.completed_at is not None
    assert (five.clinical_indication, five.ordering_department) == ("Suspected fracture", "Emergency")
    assert five.scheduled_at == dt.datetime(2026, 1, 10, 9, 0)
    assert orders["ORD-6"].status == "cancelled"
    omi_order = orders["OMI-1"]
    assert (omi_order.accession_number, omi_order.study_instance_uid, omi_order.modality) == ("ACC-OMI", "1.2.3.4.5", "CT")
    assert omi_order.scheduled_at == dt.datetime(2026, 1, 11, 14, 30)
    assert outcomes[1] == "order updated (in_progress)"
    assert outcomes[-1] == "status change for an unknown order ignored"


def test_database_outage_gives_a_nak_asking_to_send_again(sessions):
    receiver = Hl7Receiver(sessions)
    with sessions() as session, session.begin():
        session.execute(text("DROP TABLE patient_record"))  # every ADT update now fails in the database
    answer = receiver(adt_update("P6", "X^Y", "19900101", "M"))
    assert msa(answer)[1] == "AE" and "send it again" in msa(answer)[3]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Hl7Message)) == 1  # the refusal is kept


def test_repetitions_segments_and_components_are_bounded_and_refused_with_the_reason(listener, sessions):
    def identifiers(count):
        return "~".join(f"ID{i}^^^HOSP&1.2.3&ISO^MR" for i in range(count))

    hundred = message("EVN|A08", f"PID|1||{identifiers(100)}||MANY^IDS")
    five_thousand = message("EVN|A08", f"PID|1||{identifiers(5000)}||MANY^IDS")
    # each field within its bound, together too complex: 100 identifiers, 100 names, 100 reasons for study
    complex_order = orm("CPLX-1", "P8", reason="R").replace(
        b"|^R", b"|" + "~".join(f"C{i}^Reason {i}^L^^^^^^^^^" for i in range(100)).encode()).replace(
        b"PID|1||P8^^^HOSP^MR||", f"PID|1||{identifiers(100)}||{'~'.join(['A^B^C^D^E^^L'] * 100)}".encode())
    too_long = message("EVN|A08", pid("P9"), *[f"NTE|{i}|L|note" for i in range(1000)],  # NTE: not read, cheap
                       *["OBX|1|NM|8302-2^Body height^LN||180|cm|||||F"] * 200)
    started = time.monotonic()
    answers = exchange(listener, five_thousand, hundred, complex_order, too_long)
    assert time.monotonic() - started < 10  # 5,000 PID-3 repetitions alone took 30 s
    assert [msa(a)[1:3] for a in answers] == [["AE", control_id_of(five_thousand)], ["AA", control_id_of(hundred)],
                                             ["AE", control_id_of(complex_order)], ["AE", control_id_of(too_long)]]
    assert "PID-3 has 5,000 repetitions; Kerma reads at most 100" in msa(answers[0])[3]
    assert "repetitions, components, subcomponents and escape characters; at most 2,000" in msa(answers[2])[3]
    assert "the message has 201 segments of the types Kerma reads; at most 200" in msa(answers[3])[3]
    with sessions() as session:
        record = session.scalars(select(PatientRecord).where(PatientRecord.patient_id == "ID0")).one()
        assert len(record.identifiers) == 100 and record.identifiers[99]["id"] == "ID99"


def test_a_nak_names_the_control_id_of_an_unreadable_msh_when_it_can_be_found(sessions):
    receive = Hl7Receiver(sessions)
    msh = "MSH|^~\\&|SND|FAC|KERMA|FAC|20260110120000||ADT^A08|{}|P|2.5"
    cases = [  # (message, answer, control ID to echo, reason)
        (b"\x00junk " + msh.format("CTL-1").encode() + b"\rPID|1||X", "AE", "CTL-1", "does not begin with an MSH segment"),
        ((msh + "||||||KLINGON").format("CTL-2").encode(), "AE", "CTL-2", "character set (MSH-18) 'KLINGON'"),
        (msh.replace("SND", "^" * 3000).format("CTL-3").encode(), "AE", "CTL-3", "at most 2,000"),
        (msh.replace("^~\\&", "^~").format("CTL-4").encode(), "AE", "CTL-4", "MSH: unreadable encoding characters"),
        (msh.replace("^~\\&", "^~\\\\").format("CTL-5").encode(), "AE", "CTL-5", "MSH: unreadable encoding"),
        (b"MSH|SND|FAC|KERMA|FAC|2026||ADT^A08|CTL-6|P|2.5", "AE", "", "MSH: unreadable encoding characters"),
        (b"MSH|^~\\&|SND|FA", "AR", "", "MSH-12"),  # cut short: MSH-10 was never sent
    ]
    for raw, ack_code, control_id, reason in cases:
        fields = msa(receive(raw))
        assert fields[1:3] == [ack_code, control_id], raw[:40]
        assert reason in fields[3], raw[:40]
    with sessions() as session:
        kept = [m.control_id for m in session.scalars(select(Hl7Message).order_by(Hl7Message.id))]
    assert kept == ["CTL-1", "CTL-2", "CTL-3", "CTL-4", "CTL-5", None, None]
    # a frame that never ended, too large, or outside MLLP: the listener's NAK names it too
    frame_nak = msa(receive.refuse_frame("incomplete MLLP frame", msh.format("CTL-7").encode()[:60]))
    assert frame_nak[1:4] == ["AE", "CTL-7", "incomplete MLLP frame"]
