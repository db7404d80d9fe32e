#!/usr/bin/env python3
"""(s) the web UI at scale: every screen drawn, in headless Chromium, over 1,000,000 generated irradiation events.

    .venv/bin/python bench/ui_draw.py [--events 1000000] [--runs 7] [--engine postgresql] [--engine sqlite] [--json out.json]
                                      [--keep DIR]   # PostgreSQL: generated once in DIR, then reused
                                      [--screens statistics,compliance]   # only these screens of the walk

Not a test: it reports. Per database (a throwaway PostgreSQL 15, tests/support/postgres.py, rows made by the server
from ``generate_series``; an SQLite file, rows inserted in chunks), the dose database of bench (s)
(``dosedata.build``: 200 devices, 40 standard exams, ~333,000 studies of 1-5 events over 2025-2026, a local DRL
set), the mapping rules of ``tests/test_ui.py`` and the corpus dose reports it stores (here through the REST API;
so that alerts exist), then Kerma's Orthanc on that database, once its background refresher has computed the month
table, and Debian's Chromium through Playwright:

* every screen of ``tests/test_ui.py``'s walk (the route table of ``webui/app.js``, each pattern at least once;
  the same list as the test) is opened ``--runs`` times after one untimed opening, by changing the page's hash
  as a click on the menu does;
* **drawn** is the page's own marker: ``webui/app.js`` sets ``body[data-drawn]`` once the screen's module has
  built it from its API answers and every table on it has drawn its rows (``.data-table`` ``ready``), with the
  milliseconds since the hash changed; the bench also times the wait from its side (hash set to marker seen);
* **slowest API call**: the Resource Timing entries of ``/kerma/api/`` requests made while the screen was drawn,
  the longest (its duration, path and query), per run; the table gives the one of the median run.

The table gives per screen and database the median and 95th percentile of the draw time, the slowest API call, and
the verdict against the target of issue 14: every screen drawn in < 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CORPUS, OrthancProcess, free_port, median, percentile  # noqa: E402  (puts tests/ on sys.path)

TARGET_S = 1.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def loaded_kerma(work: Path, engine: str, events: int, keep: Path | None = None) -> tuple[OrthancProcess, object | None]:
    """Kerma's Orthanc over a database of ``events`` generated events (and the corpus reports): (process, pg).

    ``keep`` (PostgreSQL): the cluster and Orthanc's storage in that folder, kept, and reused when it holds a database
    of ``events`` (``dosedata.kept_postgresql``; made by this bench or by bench (s): the mapping rules added once)."""
    import dosedata
    import test_ui
    from support.postgres import PostgresServer
    from test_orthanc_ingest import wait_until_ingested

    pg, started = None, time.perf_counter()
    if engine == "postgresql" and keep is not None:
        pg, built, reused = dosedata.kept_postgresql(keep, events, say=log)
        url, work = pg.url, Path(keep)
        if not built.get("mapping_rules"):
            test_ui.mapped_by_rules(url)
            (work / dosedata.KEPT_RECORD).write_text(json.dumps({**built, "mapping_rules": True}, indent=1))
    else:
        if engine == "postgresql":
            pg = PostgresServer(work / "pg", free_port()).start()
            url = pg.url
        else:
            url = f"sqlite:///{work / 'kerma.sqlite'}"
        built, reused = dosedata.build(url, events, say=log), False
        test_ui.mapped_by_rules(url)
    log(f"  {engine}: {built['rows']['irradiation_event']:,} events in {built['rows']['study']:,} studies, "
        + ("reused" if reused else f"loaded in {time.perf_counter() - started:.0f} s"))
    process = OrthancProcess(work / "orthanc", free_port(), free_port(), url)
    try:
        process.start(timeout=120)
        session = process.session()
        for report in test_ui.REPORTS:  # through the REST API: this bench is not about C-STORE
            assert session.post(process.url + "/instances", data=(CORPUS / report).read_bytes()).status_code == 200
        wait_until_ingested(process, timeout=600)
        kept_months_fresh(url)
    except BaseException:
        process.stop()
        if pg is not None:
            pg.close()
        raise
    return process, pg


def kept_months_fresh(url: str, timeout: float = 1800.0) -> None:
    """Wait until Kerma's background refresher has computed every stale month of the month table (the steady state
    the statistics page is drawn from: after a first start over a loaded database, every month is stale)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    started = time.perf_counter()
    try:
        while True:
            with engine.connect() as conn:
                stale = conn.execute(text("SELECT count(*) FROM month_summary_stale")).scalar()
            if not stale:
                log(f"  month table fresh after {time.perf_counter() - started:.0f} s")
                return
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{stale} months still stale after {timeout:.0f} s")
            time.sleep(2)
    finally:
        engine.dispose()


SCREEN_TIMING = """() => {
  const calls = performance.getEntriesByType("resource").filter((e) => e.name.includes("/kerma/api/"))
    .map((e) => ({ url: e.name, s: e.duration / 1000 }));
  calls.sort((a, b) => b.s - a.s);
  return { drawn: document.body.dataset.drawn, calls };
}"""


def open_screen(page, route: str, timeout_ms: int = 120_000) -> dict:
    """Open ``route`` as a click does (the hash changes); the page's draw time, the bench's, the API calls."""
    page.evaluate("() => { performance.clearResourceTimings(); delete document.body.dataset.drawn; }")
    started = time.perf_counter()
    page.evaluate("""route => {  // the same hash again: what the app does for a refresh
      if (location.hash === route) window.dispatchEvent(new HashChangeEvent("hashchange")); else location.hash = route;
    }""", route)
    page.wait_for_selector("body[data-drawn]", state="attached", timeout=timeout_ms)
    waited = time.perf_counter() - started
    seen = page.evaluate(SCREEN_TIMING)
    drawn_ms = int(seen["drawn"].rsplit(" ", 1)[1])
    slowest = seen["calls"][0] if seen["calls"] else None
    return {"drawn_s": drawn_ms / 1000, "waited_s": waited, "calls": len(seen["calls"]),
            "slowest": None if slowest is None else {"s": slowest["s"], "call": _short(slowest["url"])},
            "heading": page.inner_text("h1")}


def _short(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    path = parts.path.split("/kerma/api/", 1)[1]
    return urllib.parse.unquote(path + (f"?{parts.query}" if parts.query else ""))


def measure(process: OrthancProcess, runs: int, sizes: dict, only: set[str] | None = None) -> dict:
    """Every screen of the UI walk (those named in ``only``, when given), ``runs`` timed openings each after one
    untimed, at each size."""
    from playwright.sync_api import sync_playwright

    import test_ui
    from conftest import CHROMIUM_FLAGS

    screens = {name: route for name, route in test_ui.routes(process).items() if not only or name in only}
    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS, headless=True)
        for size, (width, height) in sizes.items():
            context = browser.new_context(http_credentials={"username": "kerma", "password": "kerma"},
                                          viewport={"width": width, "height": height}, locale="en-GB")
            page = context.new_page()
            page.goto(process.url + "/kerma/ui/index.html#/getting-started")
            page.wait_for_selector("body[data-drawn]", state="attached", timeout=120_000)
            for name, route in screens.items():
                open_screen(page, "#/getting-started")
                first = open_screen(page, route)  # untimed: the screen's module loaded, the database's pages warm
                timed = []
                for _ in range(runs):
                    open_screen(page, "#/getting-started")
                    timed.append(open_screen(page, route))
                drawn = [t["drawn_s"] for t in timed]
                mid = sorted(timed, key=lambda t: t["drawn_s"])[len(timed) // 2]
                out.setdefault(name, {"route": route})[size] = {
                    "median_s": median(drawn), "p95_s": percentile(drawn, 95), "max_s": max(drawn),
                    "waited_median_s": median([t["waited_s"] for t in timed]), "first_s": first["drawn_s"],
                    "runs_s": drawn, "calls": mid["calls"], "slowest": mid["slowest"], "heading": mid["heading"]}
                r = out[name][size]
                log(f"    {size} {name}: median {r['median_s'] * 1000:.0f} ms, p95 {r['p95_s'] * 1000:.0f} ms, "
                    f"slowest call {_call(r['slowest'])}")
            context.close()
        browser.close()
    return out


def _call(slowest: dict | None) -> str:
    return "—" if slowest is None else f"{slowest['s'] * 1000:.0f} ms {slowest['call']}"


def report(result: dict) -> None:
    print(f"\n(s) UI: every screen drawn, {result['events']:,} generated events, {result['runs']} runs per screen "
          f"after one untimed; {result['date']}, load average before {result['load_before']}")
    for engine, screens in result["engines"].items():
        sizes = sorted({s for r in screens.values() for s in r if s != "route"})
        print(f"\n  {engine}\n")
        print("| screen | " + " | ".join(f"{s} median / p95 (s)" for s in sizes) + " | slowest API call (desktop, median run) | < 1 s |")
        print("|---|" + "---|" * len(sizes) + "---|---|")
        for name, r in screens.items():
            worst = max(r[s]["p95_s"] for s in sizes if s in r)
            cells = [f"{r[s]['median_s']:.2f} / {r[s]['p95_s']:.2f}" if s in r else "—" for s in sizes]
            first = next(r[s] for s in sizes if s in r)
            print(f"| {name} | " + " | ".join(cells) + f" | {_call(first['slowest'])} | {'PASS' if worst < TARGET_S else 'FAIL'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], action="append")
    parser.add_argument("--phone", action="store_true", help="also at 390 x 844 (the same API calls; twice the time)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="PostgreSQL: the database and Orthanc's storage in DIR, "
                        "kept; reused when DIR holds a database of --events (also one bench (s) made with --keep)")
    parser.add_argument("--screens", help="only these screens of the walk, by name, comma-separated: "
                        "statistics,statistics-dap,compliance,compliance-above")
    args = parser.parse_args()
    import test_ui

    sizes = {k: v for k, v in test_ui.SIZES.items() if args.phone or k == "desktop"}
    result = {"events": args.events, "runs": args.runs, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes"),
              "load_before": " ".join(f"{x:.1f}" for x in os.getloadavg()), "machine": platform.platform(),
              "cpus": os.cpu_count(), "engines": {}}
    for engine in args.engine or ["postgresql", "sqlite"]:
        with tempfile.TemporaryDirectory(prefix=f"kerma-ui-draw-{engine}-") as folder:
            log(f"(s) UI on {engine}: generating {args.events:,} events ...")
            process, pg = loaded_kerma(Path(folder), engine, args.events, args.keep)
            try:
                result["engines"][engine] = measure(process, args.runs, sizes,
                                                    set(args.screens.split(",")) if args.screens else None)
            finally:
                process.stop()
                if pg is not None:
                    pg.close()
    result["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    report(result)
    print(f"\n  load average after {result['load_after']}; {result['machine']}, {result['cpus']} CPUs")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
