"""HL7 v2 messages built for tests, the MLLP client's answers read, and RDSR studies stored for reconciliation."""

from __future__ import annotations

import itertools
from pathlib import Path

from conftest import CORPUS
from dicom_factory import copy_with
from kerma.extract import extract
from kerma.hl7.messages import Encoding, unescape
from kerma.ingest.store import Processed, store_batch
from pydicom.uid import generate_uid

HL7_CORPUS = CORPUS / "public" / "hl7"
CT_REPORT = CORPUS / "openrem" / "CT-RDSR-GEPixelMed.dcm"
_control_ids = itertools.count(1)


def corpus_messages() -> list[Path]:
    return sorted(HL7_CORPUS.glob("*.hl7"))


def control_id_of(raw: bytes) -> str:
    """MSH-10 of a message as sent (any segment separator, a BOM before MSH)."""
    text = raw.decode("utf-8-sig")
    separator = text[3]
    return text.replace("\n", "\r").split("\r", 1)[0].split(separator)[9]


def msa(answer: bytes) -> list[str]:
    """MSA fields of an acknowledgement, unescaped: [\"MSA\", code, control id, text...]."""
    text = answer.decode("utf-8")
    segment = next(s for s in text.split("\r") if s.startswith("MSA"))
    return [unescape(f, Encoding()) for f in segment.split("|")]


def message(*segments: str, event: str = "A08", structure: str | None = None, version: str = "2.5",
            message_code: str = "ADT") -> bytes:
    """MSH (with a fresh control ID) plus ``segments``, CR-separated."""
    control = f"T{next(_control_ids):06d}"
    kind = f"{message_code}^{event}" + (f"^{structure}" if structure else "")
    msh = f"MSH|^~\\&|TESTHIS|HOSP|KERMA|HOSP|20260110120000||{kind}|{control}|P|{version}"
    return "\r".join((msh, *segments)).encode() + b"\r"


def pid(patient_id: str, name: str = "", birth_date: str = "", sex: str = "", authority: str = "HOSP") -> str:
    return f"PID|1||{patient_id}^^^{authority}^MR||{name}||{birth_date}|{sex}"


def adt_update(patient_id: str, name: str, birth_date: str, sex: str, *extra: str, event: str = "A08") -> bytes:
    return message("EVN|" + event, pid(patient_id, name, birth_date, sex), "PV1|1|O", *extra, event=event)


def adt_merge(survivor: str, merged: str, survivor_name: str = "", event: str = "A40") -> bytes:
    return message("EVN|" + event, pid(survivor, survivor_name), f"MRG|{merged}^^^HOSP^MR", event=event)


def orm(placer: str, patient_id: str, *, accession: str = "", control: str = "NW", order_status: str = "SC",
        result_status: str = "", scheduled: str = "20260110090000", code: str = "CTHEAD", text: str = "CT Head",
        reason: str = "", department: str = "", name: str = "", birth_date: str = "", sex: str = "") -> bytes:
    """ORM^O01: ORC-1 control, ORC-2/3 placer/filler, ORC-5 status, ORC-17 department; OBR-4 procedure,
    OBR-18 accession, OBR-25 result status, OBR-27 timing, OBR-31 reason for study."""
    orc = f"ORC|{control}|{placer}^HIS|F{placer}^RIS||{order_status}||^^^{scheduled}" + "|" * 10 + f"^{department}"
    obr = (f"OBR|1|{placer}^HIS|F{placer}^RIS|{code}^{text}^L" + "|" * 14 + accession + "|" * 7
           + f"{result_status}||^^^{scheduled}" + "|" * 4 + f"^{reason}")
    return message(pid(patient_id, name, birth_date, sex), "PV1|1|O|WARD1", orc, obr,
                   event="O01", message_code="ORM", version="2.3")


def store_reports(sessions, studies: list[dict], report: Path = CT_REPORT) -> dict[str, str]:
    """Store one copy of ``report`` per entry of ``studies`` (DICOM keyword -> value), each in a new study,
    as the ingest worker would; return {entry's "key": Study Instance UID}."""
    uids, processed = {}, []
    for index, attributes in enumerate(studies):
        attributes = dict(attributes)
        key = attributes.pop("key")
        uids[key] = attributes.setdefault("StudyInstanceUID", generate_uid())
        processed.append(Processed(index + 1, f"orthanc-{key}", extract(copy_with(report, **attributes))))
    with sessions() as session, session.begin():
        store_batch(session, processed, last_seq=len(processed))
    return uids
