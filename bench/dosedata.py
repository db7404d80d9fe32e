"""A generated dose database of any size (benchmark (s), the UI tests and the UI bench): ``build(url, events)``.

Seeded, the same data every run: 200 devices (CT 60, DX 80, MG 30, RF 30), 40 standard exams (CT 16, DX 12, MG 4,
RF 8, Zipf-like popularity), studies of 1-5 counted events spread in date order over 2025-01-01..2026-12-31, CT/DX/MG/RF
40/40/10/10 % of studies, each event's quantity around its exam's typical value x a device factor x lognormal
(sigma 0.35), 5 % children (x0.4), one dose object per study, study totals, and one enabled local DRL set (per exam and
quantity an adult value and a 15-30 kg paediatric band, each the 75th percentile of that band's generated values).

Two ways to the same distributions:

- SQLite: rows made in Python (``random.Random``) and inserted with SQLAlchemy Core in chunks of 10,000
  (~2,000 events for the UI tests in a second; a million in a few minutes).
- PostgreSQL: made by the server, ``INSERT ... SELECT`` over ``generate_series`` with a hash of (row, draw) as each
  random number (``hashint8extended``: the same rows whatever the order or plan), then ``VACUUM ANALYZE``
  (10,000,000 events in a few minutes on 2 cores).  The rows are not the same as SQLite's, the distributions are.

    from dosedata import build
    build("postgresql+psycopg://kerma:kerma@127.0.0.1:5432/kerma", 1_000_000)

A PostgreSQL database can be kept and used again (``kept_postgresql``: the cluster and its data in a folder of one's
choosing, e.g. ``--keep /work/benchdb/pg-10m`` of the benches): generating 10,000,000 events and building their kept
statistics takes long, timing the calls on them does not.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import shutil
import time
from collections import defaultdict
from pathlib import Path

import common  # noqa: F401  (puts plugin/ and tests/ on sys.path)

START, END = dt.date(2025, 1, 1), dt.date(2026, 12, 31)
SEED = 20260101
CHUNK = 10_000
MODALITIES = {  # share of studies, devices, standard exams, exposure-level quantity, exam-level quantity
    "CT": (0.40, 60, 16, "ctdivol_mGy", "total_dlp_mGycm"),
    "DX": (0.40, 80, 12, "dap_Gycm2", "total_dap_Gycm2"),
    "MG": (0.10, 30, 4, "agd_mGy", None),
    "RF": (0.10, 30, 8, "dap_Gycm2", "total_dap_Gycm2"),
}
TYPICAL = {"CT": (3.0, 20.0), "DX": (0.05, 2.0), "MG": (1.0, 2.2), "RF": (2.0, 40.0)}  # range of exam medians
SPREAD = 0.35  # lognormal sigma of a value around its exam x device typical value
CHILD_SHARE, CHILD_FACTOR = 0.05, 0.4
PAED_BAND = (15.0, 30.0)  # kg, the one paediatric DRL band per exam
EVENT_COLUMNS = ("id", "dose_object_id", "study_id", "event_index", "counted", "standard_exam_id", "device_id",
                 "event_date", "irradiation_event_uid", "protocol", "kvp", "ctdivol_mGy", "dlp_mGycm", "dap_Gycm2",
                 "agd_mGy")
RDSR = {"CT": "1.2.840.10008.5.1.4.1.1.88.67", "DX": "1.2.840.10008.5.1.4.1.1.88.67",
        "MG": "1.2.840.10008.5.1.4.1.1.88.67", "RF": "1.2.840.10008.5.1.4.1.1.88.67"}
ROOT_UID = "1.2.826.0.1.3680043.10.543"


# ----------------------------------------------------------------------------------------------- data

def _catalogue(rng: random.Random):
    """Devices and standard exams: lists of dict rows, plus per exam its modality and typical value."""
    devices, exams = [], []
    for modality, (_, n_dev, n_exam, _, _) in MODALITIES.items():
        for i in range(n_dev):
            devices.append({"id": len(devices) + 1, "manufacturer": rng.choice(["GE", "Siemens", "Philips", "Canon"]),
                            "model": f"{modality}-model-{i % 7}", "station_name": f"{modality}{i + 1:03d}",
                            "serial_number": f"SN{len(devices) + 1:05d}", "modality": modality,
                            "device_observer_uid": f"{ROOT_UID}.9.{len(devices) + 1}", "first_seen": START, "last_seen": END,
                            "factor": math.exp(rng.gauss(0, 0.15))})
        low, high = TYPICAL[modality]
        for i in range(n_exam):
            exams.append({"id": len(exams) + 1, "scheme": "bench", "code": f"{modality}-{i + 1:02d}",
                          "name": f"{modality} exam {i + 1:02d}", "modality": modality,
                          "typical": round(rng.uniform(low, high), 4), "weight": 1.0 / (i + 1)})  # Zipf-like popularity
    return devices, exams


def _generate(events_total: int, seed: int = SEED):
    """Yield (study rows, dose object rows, event rows) per chunk of ~CHUNK events; collect DRL inputs on the way.

    The generator's ``drl_samples`` (returned at the end via StopIteration value) maps (exam, quantity, band)
    to the values seen, band "adult" or "paed" (children in the 15-30 kg band).
    """
    rng = random.Random(seed)
    devices, exams = _catalogue(rng)
    by_modality = {m: ([d for d in devices if d["modality"] == m], [e for e in exams if e["modality"] == m])
                   for m in MODALITIES}
    counts, total = [], 0
    while total < events_total:
        c = min(rng.randint(1, 5), events_total - total)
        counts.append(c)
        total += c
    n_studies, days = len(counts), (END - START).days + 1
    modalities, shares = list(MODALITIES), [v[0] for v in MODALITIES.values()]
    samples: dict[tuple, list[float]] = defaultdict(list)
    studies, objects, events = [], [], []
    event_id = 0
    for i, n_events in enumerate(counts):
        study_id = i + 1
        day = START + dt.timedelta(days=i * days // n_studies)  # inserted in date order, as a live system would
        modality = rng.choices(modalities, shares)[0]
        devs, exs = by_modality[modality]
        device = devs[rng.randrange(len(devs))]
        exam = rng.choices(exs, [e["weight"] for e in exs])[0]
        child = rng.random() < CHILD_SHARE
        if child:
            age = round(rng.uniform(0, 16), 2)
            weight = round(max(2.5, 3.5 + 2.6 * age) * math.exp(rng.gauss(0, 0.12)), 1)
        else:
            age = round(rng.uniform(16, 95), 2)
            weight = None if rng.random() < 0.02 else round(min(160, max(40, rng.gauss(78, 15))), 1)
        band = "paed" if child and weight is not None and PAED_BAND[0] <= weight < PAED_BAND[1] else ("adult" if not child else None)
        quantity, exam_quantity = MODALITIES[modality][3], MODALITIES[modality][4]
        total_value = 0.0
        for k in range(n_events):
            event_id += 1
            ev_exam = exam if rng.random() < 0.9 else exs[rng.randrange(len(exs))]
            value = round(ev_exam["typical"] * device["factor"] * math.exp(rng.gauss(0, SPREAD)) * (CHILD_FACTOR if child else 1), 4)
            row = dict.fromkeys(EVENT_COLUMNS)
            row.update(id=event_id, dose_object_id=study_id, study_id=study_id, event_index=k, counted=True,
                       standard_exam_id=ev_exam["id"], device_id=device["id"], event_date=day,
                       irradiation_event_uid=f"{ROOT_UID}.3.{study_id}.{k + 1}", protocol=ev_exam["name"],
                       kvp=float(rng.choice((80, 100, 120, 140)) if modality == "CT" else rng.choice((28, 30, 32)) if modality == "MG" else rng.randint(60, 125)))
            row[quantity] = value
            if modality == "CT":
                row["dlp_mGycm"] = round(value * rng.uniform(20, 60), 2)
                total_value += row["dlp_mGycm"]
            else:
                total_value += value
            if band:
                samples[(ev_exam["id"], quantity, band)].append(value)
            events.append(row)
        totals = {"total_dlp_mGycm": None, "total_dap_Gycm2": None, "total_agd_left_mGy": None, "total_agd_right_mGy": None}
        if exam_quantity:
            totals[exam_quantity] = round(total_value, 4)
            if band:
                samples[(exam["id"], exam_quantity, band)].append(totals[exam_quantity])
        else:  # MG: half the events per breast, roughly
            totals["total_agd_left_mGy"] = round(total_value / 2, 4)
            totals["total_agd_right_mGy"] = round(total_value / 2, 4)
        studies.append({"id": study_id, "study_instance_uid": f"{ROOT_UID}.1.{study_id}", "accession_number": f"A{study_id:08d}",
                        "study_date": day, "study_description": exam["name"], "patient_id": f"P{rng.randint(1, 200000):07d}",
                        "patient_sex": rng.choice("FM"), "patient_age_years": age, "patient_weight_kg": weight,
                        "standard_exam_id": exam["id"], "device_id": device["id"], "dose_source": "rdsr",
                        **totals, "event_count": n_events})
        objects.append({"id": study_id, "sop_instance_uid": f"{ROOT_UID}.2.{study_id}", "sop_class_uid": RDSR[modality],
                        "status": "ok", "source": "rdsr", "modality": modality, "report_kind": modality,
                        "study_id": study_id, "device_id": device["id"], "manufacturer": device["manufacturer"],
                        "model": device["model"], "station_name": device["station_name"]})
        if len(events) >= CHUNK:
            yield studies, objects, events
            studies, objects, events = [], [], []
    if studies:
        yield studies, objects, events
    return devices, exams, samples


def _drl_rows(exams, samples):
    """A local DRL set: per exam and quantity, adult and 15-30 kg paediatric values at the 75th percentile of the data."""
    from kerma.stats.summary import percentile

    names = {e["id"]: e for e in exams}
    rows = []
    for (exam_id, quantity, band), values in sorted(samples.items()):
        if len(values) < 5:
            continue
        level = "exam" if quantity.startswith("total_") else "exposure"
        row = {"drl_set_id": 1, "standard_exam_id": exam_id, "quantity": quantity, "level": level,
               "value": round(percentile(sorted(values), 0.75), 4), "enabled": True, "verification": "bench",
               "patient_group": "adult", "age_min_years": None, "age_max_years": None, "weight_min_kg": None,
               "weight_max_kg": None, "notes": f"P75 of the generated {band} values of {names[exam_id]['name']}",
               "source": "generated"}
        if band == "paed":
            row.update(patient_group="paediatric", weight_min_kg=PAED_BAND[0], weight_max_kg=PAED_BAND[1])
        rows.append(row)
    return rows


def build(url: str, events_total: int, say=print) -> dict:
    """Create the schema and load ~``events_total`` generated events; what was loaded and how long it took."""
    from sqlalchemy import insert, text

    from kerma.db.engine import make_engine
    from kerma.db.models import Device, DrlSet, StandardExam
    from kerma.db.schema import upgrade

    started = time.perf_counter()
    upgrade(url)
    schema_s = time.perf_counter() - started
    devices, exams = _catalogue(random.Random(SEED))
    engine = make_engine(url)
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Device.__table__), [{k: v for k, v in d.items() if k != "factor"} for d in devices])
        conn.execute(insert(StandardExam.__table__), [{k: v for k, v in e.items() if k not in ("typical", "weight")}
                                                      for e in exams])
        conn.execute(insert(DrlSet.__table__), [DRL_SET])
    if engine.dialect.name == "postgresql":
        _load_postgresql(engine, devices, exams, events_total, say)
    else:
        _load_python(engine, events_total, say)
    load_s = time.perf_counter() - t
    with engine.connect() as conn:
        n = {name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar()
             for name in ("device", "standard_exam", "study", "dose_object", "irradiation_event", "drl_value")}
        n["ct_events"] = conn.execute(text("SELECT count(*) FROM irradiation_event WHERE \"ctdivol_mGy\" IS NOT NULL")).scalar()
        n["ct_studies"] = conn.execute(text("SELECT count(*) FROM study WHERE \"total_dlp_mGycm\" IS NOT NULL")).scalar()
        n["children"] = conn.execute(text("SELECT count(*) FROM study WHERE patient_age_years < 16")).scalar()
    engine.dispose()
    say(f"    loaded {n['irradiation_event']:,} events in {n['study']:,} studies in {load_s:.1f} s")
    return {"schema_s": schema_s, "load_s": load_s, "rows": n}


DRL_SET = {"id": 1, "name": "Bench local 2025-2026", "kind": "local", "enabled": True, "status": "current",
           "source": "generated: P75 of the generated data per exam and band"}


KEPT_RECORD = "generated.json"  # in a kept folder: what was generated there, written once the load is complete


def kept_postgresql(folder: Path, events_total: int, say=print, settings: dict | None = None):
    """A PostgreSQL cluster in ``folder`` (kept after the run) holding the generated database of ~``events_total``
    events: (server, what was loaded, reused).

    Reused when the folder's record says it was generated for ``events_total``: the schema is upgraded (later
    migrations apply; one that empties a kept table removes the tracked setting, and the refresher then marks every
    period stale) and the caller lets the refresher bring whatever is stale up to date, as Kerma would after an
    upgrade. Otherwise the folder is emptied and the database generated (``build``); its record is written once the
    load is complete, so a load that was interrupted is made again, and kept statistics whose building was
    interrupted are finished by the refresher on the next use (their stale marks are kept in the database).
    """
    from kerma.db.schema import upgrade
    from support.orthanc import free_port
    from support.postgres import PostgresServer

    folder = Path(folder).resolve()
    record_path = folder / KEPT_RECORD
    record = json.loads(record_path.read_text()) if record_path.exists() else None
    if record is not None and record.get("events") != events_total:
        say(f"    {folder} holds {record.get('events'):,} generated events, not {events_total:,}: made again")
        record = None
    if record is None and folder.exists():
        made = {"data", "postgres.log", "orthanc", KEPT_RECORD}  # what a kept folder holds (ui_draw: Orthanc's storage)
        if not {p.name for p in folder.iterdir()} <= made:
            raise RuntimeError(f"{folder} holds more than a kept database: not emptied (choose another folder)")
        shutil.rmtree(folder)
    pg = PostgresServer(folder, free_port(), settings=settings).start()
    if Path(pg.base) != folder:
        pg.close()
        raise RuntimeError(f"{folder}: PostgreSQL's user cannot reach it, or its path is too long for a socket")
    try:
        if record is not None:
            started = time.perf_counter()
            upgrade(pg.url)
            say(f"    reused {folder} ({record['rows']['irradiation_event']:,} events, generated {record['date']}); "
                f"schema upgraded in {time.perf_counter() - started:.1f} s")
            return pg, record, True
        built = build(pg.url, events_total, say)
        record = {"events": events_total, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes"), **built}
        record_path.write_text(json.dumps(record, indent=1))
        return pg, record, False
    except BaseException:
        pg.stop()
        raise


def _load_python(engine, events_total: int, say) -> None:
    """SQLite: the rows made in Python, inserted in chunks; then the DRL values from the samples seen."""
    from sqlalchemy import insert

    from kerma.db.models import DoseObject, DrlValue, IrradiationEvent, Study

    gen = _generate(events_total)
    with engine.begin() as conn:
        try:
            while True:
                studies, objects, events = next(gen)
                conn.execute(insert(Study.__table__), studies)
                conn.execute(insert(DoseObject.__table__), objects)
                conn.execute(insert(IrradiationEvent.__table__), events)
        except StopIteration as stop:
            _, exams, samples = stop.value
        conn.execute(insert(DrlValue.__table__), _drl_rows(exams, samples))
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _load_postgresql(engine, devices: list[dict], exams: list[dict], events_total: int, say) -> None:
    """PostgreSQL: the rows made by the server from ``generate_series`` (see the module's docstring)."""
    n_studies = max(1, round(events_total / 3))  # 1-5 events each, 3 on average
    days = (END - START).days + 1
    cumulative, share = [], 0.0
    for modality, (fraction, *_rest) in MODALITIES.items():
        cumulative.append((modality, share, share + fraction if modality != list(MODALITIES)[-1] else 2.0))
        share += fraction
    exam_rows = []
    for modality in MODALITIES:
        mine = [e for e in exams if e["modality"] == modality]
        total, low = sum(e["weight"] for e in mine), 0.0
        for k, e in enumerate(mine):
            high = 2.0 if k == len(mine) - 1 else low + e["weight"] / total
            exam_rows.append(f"({e['id']}, '{modality}', {k}, {e['typical']}, {low!r}, {high!r}, '{e['name']}')")
            low = high
    device_rows = [f"({d['id']}, '{d['modality']}', {k}, {d['factor']!r})"
                   for modality in MODALITIES for k, d in enumerate(x for x in devices if x["modality"] == modality)]
    modality_rows = [f"('{m}', {lo!r}, {hi!r}, {v[1]}, {v[2]}, '{v[3]}', " + (f"'{v[4]}')" if v[4] else "NULL)")
                     for (m, lo, hi), v in zip(cumulative, MODALITIES.values())]
    child, paed = CHILD_SHARE, PAED_BAND
    statements = [
        "CREATE TEMP TABLE bench_modality (modality text, lo float8, hi float8, n_dev int, n_exam int, quantity text, "
        "exam_quantity text)",
        f"INSERT INTO bench_modality VALUES {', '.join(modality_rows)}",
        "CREATE TEMP TABLE bench_device (id int, modality text, k int, factor float8)",
        f"INSERT INTO bench_device VALUES {', '.join(device_rows)}",
        "CREATE TEMP TABLE bench_exam (id int, modality text, k int, typical float8, lo float8, hi float8, name text)",
        f"INSERT INTO bench_exam VALUES {', '.join(exam_rows)}",
        "ANALYZE bench_modality, bench_device, bench_exam",  # temporary tables have no statistics until analysed
        # studies: modality by share, device uniform among the modality's, exam by popularity, date in order
        f"""CREATE TEMP TABLE bench_study AS
            WITH r AS MATERIALIZED (  -- the draws first: a join condition calling them would call them for every pair
                SELECT i AS id, {_u('i', 1)} AS r1, {_u('i', 2)} AS r2, {_u('i', 3)} < {child} AS child,
                       {_u('i', 4)} AS r4, {_u('i', 5)} AS r5, {_u('i', 6)} AS r6, {_g('i', 7)} AS g7,
                       {_u('i', 9)} AS r9, {_g('i', 10)} AS g10
                FROM generate_series(1, {n_studies}) AS g(i)),
            a AS (SELECT r.*, m.modality, m.quantity, m.exam_quantity, m.n_exam, m.n_dev,
                         1 + floor(r.r4 * 5)::int AS n_events, floor(r.r2 * m.n_dev)::int AS device_k,
                         DATE '{START}' + ((r.id - 1) * {days}::bigint / {n_studies})::int AS day,
                         CASE WHEN r.child THEN round((r.r6 * 16)::numeric, 2)
                              ELSE round((16 + r.r6 * 79)::numeric, 2) END::float8 AS age
                  FROM r JOIN bench_modality m ON r.r1 >= m.lo AND r.r1 < m.hi),
            w AS (SELECT a.*, CASE WHEN child THEN round((greatest(2.5, 3.5 + 2.6 * age) * exp(g7 * 0.12))::numeric, 1)
                                   WHEN r9 < 0.02 THEN NULL
                                   ELSE round(least(160, greatest(40, 78 + 15 * g10))::numeric, 1) END::float8 AS weight
                  FROM a)
            SELECT w.id, w.modality, w.quantity, w.exam_quantity, w.n_exam, w.child, w.n_events, w.day, w.age, w.weight,
                   d.id AS device_id, d.factor, e.id AS exam_id, e.k AS exam_k, e.name AS exam_name,
                   CASE WHEN w.child AND w.weight >= {paed[0]} AND w.weight < {paed[1]} THEN 'paed'
                        WHEN NOT w.child THEN 'adult' END AS band
            FROM w JOIN bench_device d ON d.modality = w.modality AND d.k = w.device_k
            JOIN bench_exam e ON e.modality = w.modality AND w.r5 >= e.lo AND w.r5 < e.hi""",
        "ANALYZE bench_study",
        # events: 90 % of the study's exam, else another of its modality; value = typical x device x lognormal (x child)
        f"""CREATE TEMP TABLE bench_event AS
            WITH r AS MATERIALIZED (
                SELECT s.*, t.j, (s.id - 1) * 5 + t.j + 1 AS eid
                FROM bench_study s CROSS JOIN LATERAL generate_series(0, s.n_events - 1) AS t(j)),
            q AS MATERIALIZED (
                SELECT r.*, {_g('eid', 22)} AS g22,
                       {_u('eid', 24)} AS r24, {_u('eid', 25)} AS r25,
                       CASE WHEN {_u('eid', 20)} < 0.9 THEN r.exam_k ELSE floor({_u('eid', 21)} * r.n_exam)::int END AS event_exam_k
                FROM r)
            SELECT q.eid AS id, q.id AS study_id, q.j AS event_index, q.modality, q.quantity, q.band, q.device_id, q.day,
                   e.id AS exam_id, e.name AS protocol, v.value,
                   CASE WHEN q.modality = 'CT' THEN round((v.value * (20 + 40 * q.r24))::numeric, 2)::float8 END AS dlp,
                   CASE q.modality WHEN 'CT' THEN 80 + 20 * floor(q.r25 * 4) WHEN 'MG' THEN 28 + 2 * floor(q.r25 * 3)
                                   ELSE 60 + floor(q.r25 * 66) END::float8 AS kvp
            FROM q JOIN bench_exam e ON e.modality = q.modality AND e.k = q.event_exam_k
            CROSS JOIN LATERAL (SELECT round((e.typical * q.factor * exp({SPREAD} * q.g22)
                                              * CASE WHEN q.child THEN {CHILD_FACTOR} ELSE 1 END)::numeric, 4)::float8 AS value) v""",
        "ANALYZE bench_event",
        f"""INSERT INTO study (id, study_instance_uid, accession_number, study_date, study_description, patient_id,
                               patient_sex, patient_age_years, patient_weight_kg, standard_exam_id, device_id, dose_source,
                               "total_dlp_mGycm", "total_dap_Gycm2", "total_agd_left_mGy", "total_agd_right_mGy", event_count)
            SELECT s.id, '{ROOT_UID}.1.' || s.id, 'A' || lpad(s.id::text, 8, '0'), s.day, s.exam_name,
                   'P' || lpad((1 + floor({_u('s.id', 11)} * 200000))::text, 7, '0'),
                   CASE WHEN {_u('s.id', 12)} < 0.5 THEN 'F' ELSE 'M' END, s.age, s.weight, s.exam_id, s.device_id, 'rdsr',
                   CASE WHEN s.modality = 'CT' THEN round(t.dlp::numeric, 4) END,
                   CASE WHEN s.modality IN ('DX', 'RF') THEN round(t.value::numeric, 4) END,
                   CASE WHEN s.modality = 'MG' THEN round((t.value / 2)::numeric, 4) END,
                   CASE WHEN s.modality = 'MG' THEN round((t.value / 2)::numeric, 4) END, s.n_events
            FROM bench_study s JOIN (SELECT study_id, sum(value) AS value, sum(dlp) AS dlp FROM bench_event GROUP BY study_id) t
                 ON t.study_id = s.id""",
        f"""INSERT INTO dose_object (id, sop_instance_uid, sop_class_uid, status, source, modality, report_kind, study_id,
                                     device_id, manufacturer, model, station_name)
            SELECT s.id, '{ROOT_UID}.2.' || s.id, '{RDSR["CT"]}', 'ok', 'rdsr', s.modality, s.modality, s.id, s.device_id,
                   d.manufacturer, d.model, d.station_name
            FROM bench_study s JOIN device d ON d.id = s.device_id""",
        f"""INSERT INTO irradiation_event (id, dose_object_id, study_id, event_index, counted, standard_exam_id, device_id,
                                           event_date, irradiation_event_uid, protocol, kvp, "ctdivol_mGy", "dlp_mGycm",
                                           "dap_Gycm2", "agd_mGy")
            SELECT id, study_id, study_id, event_index, true, exam_id, device_id, day,
                   '{ROOT_UID}.3.' || study_id || '.' || (event_index + 1), protocol, kvp,
                   CASE WHEN quantity = 'ctdivol_mGy' THEN value END, dlp,
                   CASE WHEN quantity = 'dap_Gycm2' THEN value END, CASE WHEN quantity = 'agd_mGy' THEN value END
            FROM bench_event""",
        # the local DRL set: the 75th percentile of each exam's adult and 15-30 kg values (events, and study totals)
        f"""INSERT INTO drl_value (drl_set_id, standard_exam_id, quantity, level, value, enabled, verification, patient_group,
                                   weight_min_kg, weight_max_kg, notes, source)
            SELECT 1, v.exam_id, v.quantity, v.level,
                   round(percentile_cont(0.75) WITHIN GROUP (ORDER BY v.value)::numeric, 4)::float8, true, 'bench',
                   CASE v.band WHEN 'paed' THEN 'paediatric' ELSE 'adult' END,
                   CASE v.band WHEN 'paed' THEN {paed[0]} END, CASE v.band WHEN 'paed' THEN {paed[1]} END,
                   'P75 of the generated ' || v.band || ' values of ' || min(e.name), 'generated'
            FROM (SELECT exam_id, quantity, 'exposure' AS level, band, value FROM bench_event WHERE band IS NOT NULL
                  UNION ALL
                  SELECT s.exam_id, s.exam_quantity, 'exam', s.band, coalesce(st."total_dlp_mGycm", st."total_dap_Gycm2")
                  FROM bench_study s JOIN study st ON st.id = s.id
                  WHERE s.band IS NOT NULL AND s.exam_quantity IS NOT NULL) v
            JOIN standard_exam e ON e.id = v.exam_id
            GROUP BY v.exam_id, v.quantity, v.level, v.band HAVING count(*) >= 5""",
    ]
    started = time.perf_counter()
    with engine.begin() as conn:
        # the generation's joins and sorts, and the indexes built after: in memory where they fit (10 M events)
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        dropped = _drop_secondary(conn, ("study", "dose_object", "irradiation_event"))
        for statement in statements + dropped:  # indexes built in one pass each: faster than kept up row by row
            conn.exec_driver_sql(statement)
        for table in ("device", "standard_exam", "drl_set", "drl_value", "study", "dose_object", "irradiation_event"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    say(f"    generated in the server in {time.perf_counter() - started:.1f} s (indexes and foreign keys added after); "
        "VACUUM ANALYZE ...")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum would have done on a live database


def _drop_secondary(conn, tables: tuple[str, ...]) -> list[str]:
    """Drop the foreign keys and the indexes of ``tables`` that no primary key or unique constraint needs; the
    statements that make them again."""
    restore = []
    for table in tables:
        for name, definition in conn.exec_driver_sql(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
                (table,)).all():
            conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for name, definition in conn.exec_driver_sql(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
                (table,)).all():
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
            restore.append(definition.replace("%", "%%"))  # run through the driver: % is its placeholder
    return restore


def _u(row: str, draw: int) -> str:
    """SQL: a uniform number in [0, 1) from (row, draw), the same whatever the plan (53 bits of a seeded hash)."""
    return f"(((hashint8extended({row}, {SEED + draw}) >> 11) & 9007199254740991)::float8 / 9007199254740992.0)"


def _g(row: str, draw: int) -> str:
    """SQL: a standard normal number from (row, draw) and (row, draw + 1) (Box-Muller)."""
    return f"(sqrt(-2 * ln(1 - {_u(row, draw)})) * cos(2 * pi() * {_u(row, draw + 1)}))"
