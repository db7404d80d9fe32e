"""The event list ("every exposure with all parameters") holds every field the extractor gives, for the whole corpus.

Each corpus object is extracted, stored through the ingest path, and the event list is read back as JSON and as
CSV: every non-null value of every extracted event (scalar fields, the RDSR's filters, X-ray sources and organ
doses, header details) must be in that event's line, equal.
"""

import csv
import io
import itertools
import json

import pytest

from corpus import dose_reports, images
from kerma.api import Context, Request, handle
from kerma.extract import extract
from kerma.ingest.store import Processed, store_batch

_seq = itertools.count(1)


def extracted_events(records: list[dict]) -> list[tuple[str, int, dict]]:
    """(SOP Instance UID, event index, event) of every event the extractor gave, each object once."""
    seen, out = set(), []
    for record in records:
        uid = record.sop_instance_uid
        if record.status != "ok" or not record.study_instance_uid or uid in seen:
            continue
        seen.add(uid)
        out += [(uid, index, event) for index, event in enumerate(record.events)]
    return out


def cell(value) -> str:
    """How the CSV writes an extracted value."""
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def test_every_extracted_field_is_in_the_event_list(sessions):
    records = [extract(path.read_bytes()) for path in [*dose_reports(), *images()]]
    with sessions() as s, s.begin():
        store_batch(s, [Processed(next(_seq), f"id-{i}", r) for i, r in enumerate(records)], last_seq=next(_seq))
    expected = extracted_events(records)
    assert len(expected) > 500 and any(e.get("filters") for _, _, e in expected)  # the corpus has RDSR filters...
    assert any(e.get("xray_sources") for _, _, e in expected) and any(e.get("organ_doses") for _, _, e in expected)

    def answer(fmt):
        status, body = handle(Context(sessions), Request("GET", "events", {"all": "1", "limit": "10000", **fmt}))
        assert status == 200, body
        return body

    lines = {(r["sop_instance_uid"], r["event_index"]): r for r in answer({})["events"] if r["folded_key"] is None}
    table = list(csv.DictReader(io.StringIO(answer({"format": "csv"}).text)))
    by_key = {(r["sop_instance_uid"], int(r["event_index"])): r for r in table if not r["folded_key"]}
    missing = []
    for uid, index, event in expected:
        line, row = lines[(uid, index)], by_key[(uid, index)]
        for name, value in event.items():
            if value is None:
                continue
            if line.get(name) != value:
                missing.append(f"{uid} #{index} {name}: JSON {line.get(name)!r} != {value!r}")
            elif row.get(name) != cell(value) and not (isinstance(value, float) and float(row.get(name) or "nan") == value):
                missing.append(f"{uid} #{index} {name}: CSV {row.get(name)!r} != {cell(value)!r}")
    assert not missing, f"{len(missing)} values not exported, e.g. " + "; ".join(missing[:10])
