"""The standard exam catalogue: RadLex Playbook and site-defined names."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import StandardExam

PLAYBOOK = "RadLex Playbook"
# Playbook modality → DICOM modality of the records it names
PLAYBOOK_MODALITY = {"CT": "CT", "XR": "DX", "DX": "DX", "CR": "DX", "MG": "MG", "MAMMO": "MG", "FL": "RF", "XA": "RF",
                     "RF": "RF", "NM": "NM", "PT": "NM"}


def import_playbook(session: Session, text: str, source: str = PLAYBOOK) -> int:
    """Load the RSNA RadLex Playbook CSV (columns rpid, long_name, playbook_modality, body_region, population...).

    Existing RPIDs are updated; returns the number of rows read.
    """
    existing = {e.code: e for e in session.scalars(select(StandardExam).where(StandardExam.scheme == PLAYBOOK))}
    count = 0
    for row in csv.DictReader(io.StringIO(text)):
        rpid = (row.get("rpid") or row.get("RPID") or "").strip()
        name = next((row[k].strip() for k in ("long_name", "short_name", "long_name_upper", "short_name_upper")
                     if (row.get(k) or "").strip()), "")
        if not rpid or not name:
            continue
        hint = row.get("dicom_modality_hint") or row.get("playbook_modality") or ""
        modality = hint.replace("|", "/").split("/")[0].split("(")[0].strip()
        exam = existing.get(rpid) or StandardExam(scheme=PLAYBOOK, code=rpid)
        exam.name = name
        exam.modality = PLAYBOOK_MODALITY.get(modality.upper(), modality.upper() or None)
        exam.body_region = (row.get("body_region") or "").strip() or None
        exam.patient_group = "paediatric" if "pediatric" in (row.get("population") or "").lower() else None
        exam.source = source
        if exam.id is None and rpid not in existing:
            session.add(exam)
            existing[rpid] = exam
        count += 1
    session.flush()
    return count


def add_site_exam(session: Session, code: str, name: str, modality: str | None = None, body_region: str | None = None,
                  patient_group: str | None = None, loinc: str | None = None) -> StandardExam:
    exam = StandardExam(scheme="site", code=code, name=name, modality=modality, body_region=body_region,
                        patient_group=patient_group, loinc=loinc, source="site")
    session.add(exam)
    session.flush()
    return exam


def exam_json(exam: StandardExam) -> dict:
    return {"id": exam.id, "scheme": exam.scheme, "code": exam.code, "name": exam.name, "modality": exam.modality,
            "body_region": exam.body_region, "patient_group": exam.patient_group, "loinc": exam.loinc, "source": exam.source}
