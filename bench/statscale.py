"""(s) statistics at scale: every statistics call of Kerma over a generated dose database of 1,000,000 (or 10,000,000)
irradiation events, as the product answers it.

Not named ``statistics.py``: ``bench/`` is first on ``sys.path`` when ``run.py`` runs, and a bench module of
that name would shadow the standard library's ``statistics``, which ``kerma.stats.summary`` imports.

Per database (SQLite file in the temp folder; a throwaway PostgreSQL 15, tests/support/postgres.py):

1. The generated database of :mod:`dosedata` (schema by ``kerma.db.schema.upgrade``).
2. Kerma's kept statistics (month, quarter and year tables per device and for all devices, examinations per device
   and month) built as its background thread builds them (``kerma.stats.refresher``).
3. Timing, warm (one untimed call first, then ``runs`` timed calls, median and each, each in a fresh session), of
   ``kerma.stats.tables.median_table`` and ``above_drl`` called directly, and of every statistics REST call of the
   web UI through ``kerma.api.handle`` (no Orthanc, no HTTP; the JSON encoding the edge adds is timed apart), with a
   cProfile of any call over its target.

    .venv/bin/python bench/run.py --only s [--quick]                  # 1 M events, SQLite then PostgreSQL
    .venv/bin/python bench/statscale.py 10000000 postgresql           # 10 M events, PostgreSQL only (1 run each)
    .venv/bin/python bench/statscale.py 10000000 postgresql --keep /work/benchdb/pg-10m   # generated once, then reused
"""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import os
import pstats
import time
from pathlib import Path

from common import median  # also puts plugin/ and tests/ on sys.path
from dosedata import END, START, build

LAST_MONTH = (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
PG_SHOWN = ("shared_buffers", "work_mem", "effective_cache_size", "jit", "max_parallel_workers_per_gather")
TARGET_S = {1_000_000: 0.3, 10_000_000: 1.0}  # issue 16, PostgreSQL (SQLite: shown, no target)


def target_for(events: int) -> float | None:
    return next((t for n, t in sorted(TARGET_S.items()) if events <= n * 1.01), None) if events >= 1_000_000 else None


# ----------------------------------------------------------------------------------------------- what is timed

def direct_calls():
    """(key, label, fn(session)): the statistics module's own functions, as the routes below call them."""
    from kerma.stats.tables import Filters, above_drl, median_table

    month = Filters(date_from=LAST_MONTH[0], date_to=LAST_MONTH[1])
    return [
        ("median_ctdivol", "median_table ctdivol_mGy, exam x device x month (exposure level)",
         lambda s: median_table(s, "ctdivol_mGy", Filters(), "month")),
        ("median_dlp", "median_table total_dlp_mGycm, exam x device x month (exam level)",
         lambda s: median_table(s, "total_dlp_mGycm", Filters(), "month")),
        ("above_month", f"above_drl ctdivol_mGy, {LAST_MONTH[0]:%Y-%m}", lambda s: above_drl(s, "ctdivol_mGy", month)),
        ("above_all", "above_drl ctdivol_mGy, whole period (2025-01..2026-12)",
         lambda s: above_drl(s, "ctdivol_mGy", Filters())),
        ("above_all_dap", "above_drl dap_Gycm2, whole period (DX + RF)", lambda s: above_drl(s, "dap_Gycm2", Filters())),
    ]


YEAR = {"date_from": "2026-01-01", "date_to": "2026-12-31"}
API_CALLS = [  # (key, screen, path, query): what the UI's screens ask for, plus the other statistics routes
    ("studies", "studies", "studies", {"limit": "50"}),
    ("studies CT", "studies", "studies", {"limit": "50", "modality": "CT"}),
    ("studies 2026-12", "studies", "studies", {"limit": "50", "date_from": "2026-12-01", "date_to": "2026-12-31"}),
    # the statistics page opens on the last twelve whole months (here: the data's last year)
    # (its table a page of the route's 100 rows, sorted by the server; its charts what they draw)
    ("statistics 2026", "statistics", "statistics", {"quantity": "ctdivol_mGy", "period": "month", **YEAR}),
    ("statistics charts 2026", "statistics", "statistics/charts", {"quantity": "ctdivol_mGy", "period": "month", **YEAR}),
    ("devices", "statistics", "devices", {}),
    ("events", "statistics", "events", {"limit": "2000"}),  # a 2,000-event page (no screen asks for it: CSV links)
    ("events page", "events", "events", {"limit": "100"}),  # a page of the route's default size
    ("health", "today", "health", {}),  # the Today screen's counts
    ("no order", "reconciliation", "reconciliation/no-order", {"limit": "50"}),  # every study here: no HIS orders
    ("statistics 2 years", "statistics", "statistics", {"quantity": "ctdivol_mGy", "period": "month"}),
    ("statistics 2 years, median/DRL, page 250", "statistics", "statistics",
     {"quantity": "ctdivol_mGy", "period": "month", "sort": "median_over_drl", "order": "desc", "offset": "24900"}),
    ("statistics charts 2 years", "statistics", "statistics/charts", {"quantity": "ctdivol_mGy", "period": "month"}),
    ("compliance 2 years by quarter", "compliance", "statistics/compliance", {"period": "quarter"}),
    ("compliance 2026-Q4 red", "compliance", "statistics/compliance",
     {"period": "quarter", "status": "red", "date_from": "2026-10-01", "date_to": "2026-12-31"}),
    ("statistics quarter", "statistics", "statistics", {"quantity": "ctdivol_mGy", "period": "quarter", **YEAR}),
    ("statistics year DLP", "statistics", "statistics", {"quantity": "total_dlp_mGycm", "period": "year"}),
    ("above DRL 2026-12", "statistics", "statistics/above-drl",
     {"quantity": "ctdivol_mGy", "date_from": "2026-12-01", "date_to": "2026-12-31"}),
    ("above DRL 2 years", "statistics", "statistics/above-drl", {"quantity": "ctdivol_mGy"}),
    ("trend", "statistics", "statistics/trend", {"quantity": "ctdivol_mGy", "period": "month", **YEAR}),
    ("scatter", "statistics", "statistics/scatter", {"quantity": "ctdivol_mGy", **YEAR}),
    ("examinations per device", "statistics", "statistics/examinations-per-device", {"period": "month", **YEAR}),
]


def timed(sessions, fn, runs: int) -> dict:
    """One untimed warm-up call, then ``runs`` timed calls, each in a fresh session."""
    def once():
        with sessions() as s:
            t, c = time.perf_counter(), time.process_time()
            out = fn(s)
            return time.perf_counter() - t, time.process_time() - c, out
    load = os.getloadavg()[0]
    try:
        first, _, out = once()
        runs_ = [once()[:2] for _ in range(runs)]
    except Exception as exc:  # reported, e.g. a driver limit
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}
    times = [r[0] for r in runs_]
    return {"first_s": first, "runs_s": times, "median_s": median(times), "cpu_s": median([r[1] for r in runs_]),
            "rows": len(out), "load_avg": [load, os.getloadavg()[0]]}


def profile_call(sessions, fn, top: int = 12, sort: str = "tottime") -> list[str]:
    profiler = cProfile.Profile()
    with sessions() as s:
        profiler.enable()
        fn(s)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return [lines[i] for i in range(len(lines)) if i == 1 or i >= start][: top + 2]


def api_calls(url: str, sessions, runs: int, target: float | None, say=print) -> dict:
    """``handle(Context(sessions), Request("GET", path, query))`` per call, timed as ``timed`` does (HTTP 200 or an
    error); the JSON encoding the Orthanc edge adds (``kerma.api.http.strict_json``) is timed apart."""
    from urllib.parse import urlencode

    from kerma.api import Context, Request, handle
    from kerma.api.http import strict_json
    from kerma.config import Settings

    ctx = Context(sessions, settings=Settings.from_orthanc({"Kerma": {"DatabaseUrl": url}}))  # routes read ctx.settings
    out = {}
    for key, screen, path, query in API_CALLS:
        last = {}

        def call(_session, path=path, query=query, last=last):
            status, answer = handle(ctx, Request("GET", path, dict(query)))
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {answer}")
            last["answer"] = answer
            return next((v for v in answer.values() if isinstance(v, list)), [])
        say(f"    GET {path} {query}: warm-up + {runs} runs ...")
        r = out[key] = timed(sessions, call, runs)
        r["label"] = f"{screen} page: GET {path}" + (f"?{urlencode(query)}" if query else "")
        if "answer" in last:
            t = time.perf_counter()
            r["json_bytes"] = len(strict_json(last["answer"], f"GET {path}"))
            r["json_s"] = time.perf_counter() - t
            r["total"] = last["answer"].get("total")
        if target and r.get("median_s", 0) >= target:
            r["cprofile_cumulative"] = profile_call(sessions, call, top=25, sort="cumulative")
        say("      " + (r["error"] if "error" in r else f"median {r['median_s'] * 1000:.0f} ms; {r['rows']:,} rows"))
    return out


# ----------------------------------------------------------------------------------------------- one backend

def bench_backend(name: str, url: str, events_total: int, runs: int, say, size=None, built: dict | None = None,
                  reused: bool = False, direct: bool = True) -> dict:
    """``built``: what ``dosedata.kept_postgresql`` loaded (``reused``: in an earlier run); None: generated here."""
    from kerma.db.engine import make_engine, make_sessionmaker
    from kerma.stats.refresher import SummaryRefresher

    if built is None:
        say(f"(s) {name}: schema + {events_total:,} events ...")
        built = build(url, events_total, say)
    result = {"backend": name, "build": built, "reused": reused}
    result["size_bytes"] = size()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    # Kerma's kept statistics, as the plugin's background thread builds them: after a bulk load (or a migration that
    # empties them) every period is marked stale and computed; a kept database has the periods left stale, if any
    say("    kept statistics: stale periods refreshed ...")
    started, kept = time.perf_counter(), SummaryRefresher(sessions)
    while kept.tick():
        pass
    result["summary_build_s"] = time.perf_counter() - started
    say(f"      refreshed in {result['summary_build_s']:.1f} s")
    target = target_for(events_total) if name == "postgresql" else None
    result["direct"] = {}
    for key, label, fn in direct_calls() if direct else ():
        say(f"    {label}: warm-up + {runs} runs ...")
        r = result["direct"][key] = timed(sessions, fn, runs)
        r["label"] = label
        if target and r.get("median_s", 0) >= target:
            r["cprofile_cumulative"] = profile_call(sessions, fn, top=25, sort="cumulative")
        say("      " + (r["error"] if "error" in r else f"median {r['median_s']:.3f} s; {r['rows']:,} rows"))
    result["api"] = api_calls(url, sessions, runs, target, say)
    engine.dispose()
    return result


def statistics_scale(workroot: Path, events_total: int, runs: int, say=print, backends=("sqlite", "postgresql"),
                     keep: Path | None = None, settings: dict | None = None, direct: bool = True) -> dict:
    """``keep``: the PostgreSQL cluster in that folder, kept, and reused when it holds ``events_total`` generated events
    (``dosedata.kept_postgresql``); ``settings``: PostgreSQL server settings (``{"shared_buffers": "4GB"}``); ``direct``: False leaves out the module's functions called
    directly (the routes alone: at 10 M events the exceedance list of every row of two years takes minutes)."""
    from dosedata import kept_postgresql
    from support.orthanc import free_port
    from support.postgres import PostgresServer

    out = {"events": events_total, "runs": runs, "period": [START.isoformat(), END.isoformat()],
           "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes"), "backends": {}}
    if "sqlite" in backends:
        path = workroot / "stats.sqlite"

        def sqlite_size():
            return sum(p.stat().st_size for p in workroot.glob("stats.sqlite*"))
        out["backends"]["sqlite"] = bench_backend("sqlite", f"sqlite:///{path}", events_total, runs, say, size=sqlite_size,
                                                  direct=direct)
        for p in workroot.glob("stats.sqlite*"):
            p.unlink()
    if "postgresql" in backends:
        built, reused = None, False
        if keep is not None:
            pg, built, reused = kept_postgresql(keep, events_total, say, settings)
        else:
            pg = PostgresServer(workroot / "pg", free_port(), settings=settings).start()
        try:
            def pg_size():
                from sqlalchemy import create_engine, text
                e = create_engine(pg.url)
                with e.connect() as c:
                    n = c.execute(text("SELECT pg_database_size(current_database())")).scalar()
                e.dispose()
                return n
            r = bench_backend("postgresql", pg.url, events_total, runs, say, size=pg_size, built=built,
                              reused=reused, direct=direct)
            r["server"] = pg._psql("SELECT version()").strip()
            r["settings"] = {name: pg._psql(f"SHOW {name}").strip() for name in PG_SHOWN}
            out["backends"]["postgresql"] = r
        finally:
            pg.close()  # a kept cluster is stopped, its data stay
    return out


# ----------------------------------------------------------------------------------------------- report

def _fmt(r: dict) -> str:
    if not r:
        return "-"
    if "error" in r:
        return "ERROR " + r["error"]
    return (f"{r['median_s']:7.3f} s  (runs {', '.join(f'{x:.3f}' for x in r['runs_s'])}; first {r['first_s']:.3f}; "
            f"cpu here {r['cpu_s']:.3f}; load {r['load_avg'][0]:.1f})  {r['rows']:>6,} rows")


def print_s(s: dict) -> None:
    print(f"\n(s) statistics at scale: {s['events']:,} generated events, {s['period'][0]}..{s['period'][1]}; "
          f"warm, median of {s['runs']} run(s) after one untimed call; {s.get('date', '')}")
    for name, r in s["backends"].items():
        b, rows = r["build"], r["build"]["rows"]
        size = f"file {r['size_bytes'] / 2**20:.0f} MB" if name == "sqlite" else f"pg_database_size {r['size_bytes'] / 2**20:.0f} MB"
        print(f"  {name}: {rows['irradiation_event']:,} events ({rows['ct_events']:,} with CTDIvol), {rows['study']:,} studies "
              f"({rows['ct_studies']:,} with total DLP, {rows['children']:,} children), {rows['device']} devices, "
              f"{rows['standard_exam']} exams, {rows['drl_value']} DRL values; {size}; "
              + (f"reused (generated {b['date']}, loaded in {b['load_s']:.0f} s), stale kept statistics refreshed in "
                 if r.get("reused") else f"loaded in {b['load_s']:.1f} s, kept statistics built in ")
              + f"{r['summary_build_s']:.1f} s" + (f"; {r['server'].split(' on ')[0]}" if r.get("server") else ""))
        if r.get("settings"):
            print("    " + ", ".join(f"{k} {v}" for k, v in r["settings"].items()))
        target = target_for(s["events"]) if name == "postgresql" else None
        print(f"    target < {target:g} s each" if target else "    (no target for this backend or size)")
        for p in list(r["direct"].values()) + list(r["api"].values()):
            extra = ""
            if "json_bytes" in p:  # what the Orthanc edge adds: kerma.api.http.strict_json
                extra = f"  [JSON {p['json_bytes'] / 1024:,.0f} KiB, encoded in {p['json_s'] * 1000:.0f} ms"
                extra += (f"; total {p['total']:,}]" if p.get("total") is not None else "]")
            print(f"    {p['label']:90s} {_fmt(p)}{extra}")
        for p in list(r["direct"].values()) + list(r["api"].values()):
            if p.get("cprofile_cumulative"):
                print(f"      cProfile {p['label']}, top by cumulative time:")
                for line in p["cprofile_cumulative"]:
                    print("        " + line)


def target_rows(s: dict, verdict) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, r in s["backends"].items():
        target = target_for(s["events"]) if name == "postgresql" else None
        for key, p in list(r["direct"].items()) + list(r["api"].items()):
            measured = "error" if "error" in p else f"{p['median_s'] * 1000:.0f} ms"
            ok = None if target is None else ("error" not in p and p["median_s"] < target)
            rows.append((f"{name}, {s['events']:,} events: {key}" + (f" < {target:g} s" if target else ""), measured,
                         verdict(ok), p["label"] + (f"; {p['error'][:60]}" if "error" in p else f"; {p['rows']:,} rows")))
    return rows


def run(args, workroot: Path, say=print) -> dict:
    """Part (s) of bench/run.py: 1,000,000 events (``--quick``: 50,000, 1 run), SQLite then PostgreSQL."""
    events, runs = (50_000, 1) if args.quick else (1_000_000, 3)
    say(f"(s) statistics at scale: {events:,} events per database, warm-up + {runs} run(s) per measurement")
    return statistics_scale(workroot, events, runs, say=say)


show = print_s


if __name__ == "__main__":
    import argparse
    import json
    import shutil
    import sys
    import tempfile

    parser = argparse.ArgumentParser(description="(s) statistics at scale, one run")
    parser.add_argument("events", type=int, nargs="?", default=100_000)
    parser.add_argument("engines", nargs="*", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="PostgreSQL's cluster and data in DIR, kept; reused when DIR holds a database of EVENTS")
    parser.add_argument("--pg", action="append", default=[], metavar="NAME=VALUE",
                        help="a PostgreSQL server setting (repeatable): --pg shared_buffers=4GB")
    parser.add_argument("--runs", type=int, help="timed runs per call (default 3; 1 from 5 M events)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--routes-only", action="store_true", help="the REST calls alone (not the functions directly)")
    args = parser.parse_args()
    runs = args.runs or (1 if args.events >= 5_000_000 else 3)  # at 10 M a call from the rows takes tens of seconds
    root = Path(tempfile.mkdtemp(prefix="kerma-stats-"))
    try:
        result = statistics_scale(root, args.events, runs, say=lambda m: print(m, file=sys.stderr, flush=True),
                                  backends=tuple(args.engines), keep=args.keep,
                                  settings=dict(s.split("=", 1) for s in args.pg), direct=not args.routes_only)
        print_s(result)
        if args.json:
            args.json.write_text(json.dumps(result, indent=1, default=str))
    finally:
        shutil.rmtree(root, ignore_errors=True)
