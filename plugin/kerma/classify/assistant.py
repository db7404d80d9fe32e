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


# Localisers (topograms, scouts, surviews): a CT's planning scans, one group of their own in the unmapped list. DICOM
# CID 10013 names their acquisition "Constant Angle Acquisition"; the vendors' protocol names say it too.
LOCALISER_ACQUISITION = "Constant Angle Acquisition"
LOCALISER_NAMES = r"topogram|scout|surview|scanogram|locali[sz]er|pilot"
_LOCALISER = re.compile(LOCALISER_NAMES, re.IGNORECASE)


def is_localiser(protocol: str | None, acquisition_type: str | None) -> bool:
    return acquisition_type == LOCALISER_ACQUISITION or bool(protocol and _LOCALISER.search(protocol))


def unmapped(session: Session, level: str, limit: int = 100) -> list[dict]:
    """Combinations without a standard exam, most frequent first: one row per name (protocol, target region, body
    part and view of an exposure; descriptions of a study) and modality, with the devices it comes from (``devices``:
    ``device_id`` and ``count``, most first), example studies and the condition that would map it. Localisers of an
    exposure are one row per modality (``localiser``), with their ``protocols`` and counts."""
    counts: Counter = Counter()
    devices: dict[tuple, Counter] = defaultdict(Counter)
    protocols: dict[tuple, Counter] = defaultdict(Counter)
    examples: dict[tuple, list[str]] = defaultdict(list)
    if level == "exam":
        modality = dict(session.execute(select(DoseObject.study_id, DoseObject.modality).where(DoseObject.status == "ok")).all())
        rows = session.execute(
            select(Study.study_instance_uid, Study.id, Study.device_id, Study.study_description, Study.procedure_reported,
                   Study.requested_procedure)
            .where(Study.standard_exam_id.is_(None), Study.dose_source.is_not(None)))
        rows = ((uid, device, (modality.get(study_id), *rest)) for uid, study_id, device, *rest in rows)
        fields = ("modality", "study_description", "procedure_reported", "requested_procedure")
    else:
        rows = session.execute(
            select(Study.study_instance_uid, IrradiationEvent.device_id, DoseObject.modality, IrradiationEvent.protocol,
                   IrradiationEvent.target_region, IrradiationEvent.body_part, IrradiationEvent.view,
                   IrradiationEvent.acquisition_type)
            .join(Study, Study.id == IrradiationEvent.study_id)
            .join(DoseObject, DoseObject.id == IrradiationEvent.dose_object_id)
            .where(IrradiationEvent.counted.is_(True), IrradiationEvent.standard_exam_id.is_(None)))
        rows = ((uid, device, (modality, None, None, None, None, "localiser") if is_localiser(protocol, acquisition)
                 else (modality, protocol, region, part, view, None), protocol)
                for uid, device, modality, protocol, region, part, view, acquisition in rows)
        fields = ("modality", "protocol", "target_region", "body_part", "view", "group")
    for uid, device, key, *name in rows:
        counts[key] += 1
        devices[key][device] += 1
        if name and key[-1] == "localiser":
            protocols[key][name[0] or "—"] += 1
        if uid not in examples[key] and len(examples[key]) < 3:
            examples[key].append(uid)
    out = []
    for key, n in counts.most_common(limit):
        row = {**dict(zip(fields, key)), "count": n, "example_studies": examples[key],
               "devices": [{"device_id": d, "count": c} for d, c in devices[key].most_common()]}
        if row.pop("group", None) == "localiser":
            row.update(localiser=True, protocols=dict(protocols[key].most_common()),
                       condition={"field": "protocol", "op": "regex", "value": f"(?i){LOCALISER_NAMES}"})
        else:
            row["localiser"] = False if level == "exposure" else None
            row["condition"] = _condition(row, level)
        out.append(row)
    return out


def _condition(row: dict, level: str) -> dict | None:
    """The condition that maps a row of :func:`unmapped`: its first name that is there, equal."""
    names = ("protocol", "target_region", "body_part", "view") if level == "exposure" else (
        "study_description", "procedure_reported", "requested_procedure")
    for name in names:
        if row.get(name):
            return {"field": name, "op": "equals", "value": row[name]}
    return None


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
        keys = {name: normalise(name) for name in names}  # once each (compared with every group)
        groups: list[list[str]] = []
        for name in names:
            for group in groups:
                if similarity(keys[name], keys[group[0]]) >= NEAR_DUPLICATE:
                    group.append(name)
                    break
            else:
                groups.append([name])
        for group in groups:
            if len(group) > 1:
                exact = len({keys[n] for n in group}) == 1
                out.append({"device_id": device_id, "protocols": {n: protocols[n] for n in group},
                            "kind": "same name written differently" if exact else "near duplicate"})
    return out
