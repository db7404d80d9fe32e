"""The mapping assistant: what is not mapped yet, what it probably is, and which local protocols are the same."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from difflib import SequenceMatcher

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import DoseObject, IrradiationEvent, StandardExam, Study

NEAR_DUPLICATE = 0.85  # similarity above which two protocol names of one device look like one protocol


def normalise(text: str | None) -> str:
    """Lower case, no accents, dots dropped, other punctuation as spaces, words sorted: "Thorax/Abd C+" ~ "abd c thorax"."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[.']", "", text)  # abbreviations: "P.A." is "pa"
    words = re.findall(r"[a-z0-9]+", text)
    return " ".join(sorted(words))


def similarity(a: str, b: str) -> float:
    """The better of character similarity and word overlap of two normalised names."""
    if not a or not b:
        return 0.0
    words_a, words_b = set(a.split()), set(b.split())
    overlap = len(words_a & words_b) / len(words_a | words_b)
    return max(SequenceMatcher(None, a, b).ratio(), overlap)


def unmapped(session: Session, level: str, limit: int = 100) -> list[dict]:
    """Combinations without a standard exam, most frequent first, with example studies."""
    counts: Counter = Counter()
    examples: dict[tuple, list[str]] = defaultdict(list)
    if level == "exam":
        modality = dict(session.execute(select(DoseObject.study_id, DoseObject.modality).where(DoseObject.status == "ok")).all())
        rows = session.execute(
            select(Study.study_instance_uid, Study.id, Study.device_id, Study.study_description, Study.procedure_reported,
                   Study.requested_procedure)
            .where(Study.standard_exam_id.is_(None), Study.dose_source.is_not(None)))
        rows = ((uid, modality.get(study_id), *rest) for uid, study_id, *rest in rows)
        fields = ("modality", "device_id", "study_description", "procedure_reported", "requested_procedure")
    else:
        rows = session.execute(
            select(Study.study_instance_uid, DoseObject.modality, IrradiationEvent.device_id, IrradiationEvent.protocol,
                   IrradiationEvent.target_region, IrradiationEvent.body_part, IrradiationEvent.view)
            .join(Study, Study.id == IrradiationEvent.study_id)
            .join(DoseObject, DoseObject.id == IrradiationEvent.dose_object_id)
            .where(IrradiationEvent.counted.is_(True), IrradiationEvent.standard_exam_id.is_(None)))
        fields = ("modality", "device_id", "protocol", "target_region", "body_part", "view")
    for uid, *key in rows:
        key = tuple(key)
        counts[key] += 1
        if uid not in examples[key] and len(examples[key]) < 3:
            examples[key].append(uid)
    return [{**dict(zip(fields, key)), "count": n, "example_studies": examples[key]} for key, n in counts.most_common(limit)]


def suggestions(session: Session, text: str, modality: str | None = None, limit: int = 5) -> list[dict]:
    """Catalogue names most similar to ``text`` (same modality when given)."""
    wanted = normalise(text)
    stmt = select(StandardExam)
    if modality:
        stmt = stmt.where(StandardExam.modality == modality)
    scored = [(similarity(wanted, normalise(exam.name)), exam) for exam in session.scalars(stmt)]
    scored.sort(key=lambda pair: (-pair[0], pair[1].id))
    return [{"standard_exam_id": e.id, "scheme": e.scheme, "code": e.code, "name": e.name, "score": round(score, 3)}
            for score, e in scored[:limit] if score > 0]


def duplicate_protocols(session: Session) -> list[dict]:
    """Per device, local protocol names that are one protocol written differently (to merge them)."""
    rows = session.execute(select(IrradiationEvent.device_id, IrradiationEvent.protocol, func.count())
                           .where(IrradiationEvent.counted.is_(True), IrradiationEvent.protocol.is_not(None))
                           .group_by(IrradiationEvent.device_id, IrradiationEvent.protocol))  # counted by the database
    per_device: dict = defaultdict(Counter)
    for device_id, protocol, n in rows:
        per_device[device_id][protocol] = n
    out = []
    for device_id, protocols in sorted(per_device.items(), key=lambda kv: kv[0] or 0):
        names = sorted(protocols)
        groups: list[list[str]] = []
        for name in names:
            key = normalise(name)
            for group in groups:
                if similarity(key, normalise(group[0])) >= NEAR_DUPLICATE:
                    group.append(name)
                    break
            else:
                groups.append([name])
        for group in groups:
            if len(group) > 1:
                exact = len({normalise(n) for n in group}) == 1
                out.append({"device_id": device_id, "protocols": {n: protocols[n] for n in group},
                            "kind": "same name written differently" if exact else "near duplicate"})
    return out
