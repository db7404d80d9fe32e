#!/usr/bin/env python3
"""Back-fill: how long Kerma takes to ingest the history of an Orthanc it is added to. Not a test: it reports.

    .venv/bin/python bench/backfill.py [--instances 3000] [--images-per-study 19] [--engine sqlite|postgresql]...
                                       [--json out.json] [--keep]

1. Writes ``--instances`` corpus-like instances: studies of ``--images-per-study`` copies of one corpus image
   (one series; the corpus images are cycled study by study: CT, CR/DX, MG, XA/RF, NM/PT, dose screens) plus one copy
   of a corpus dose report (cycled), every copy with new UIDs.
2. Stores them in an Orthanc without Kerma (``"Plugins": []``), over pynetdicom associations of 500 files.
3. Stops it, starts the same Orthanc (same storage, same index) with Kerma on a fresh database, and times, from
   the start of the Orthanc process, until ``GET /kerma/api/health`` shows every instance in the ledger and lag 0.

Repeated for each ``--engine`` (default: sqlite, then postgresql on a throwaway server from tests/support/postgres.py).
See bench/README.md, "Back-fill".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import AUTH, machine, wait_for  # noqa: E402  (puts plugin/ and tests/ on sys.path)
from support.orthanc import OrthancProcess, free_port  # noqa: E402

STORE_CHUNK = 500  # files per association


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sources(workroot: Path) -> tuple[list[Path], list[Path]]:
    """The corpus images and dose reports that pydicom can rewrite with new UIDs and Orthanc stores as they are
    (a few corpus files are broken on purpose: those are left out, and named)."""
    from corpus import dose_reports, images

    images_, reports = rewritable(images(), workroot), rewritable(dose_reports(), workroot)
    probe = OrthancProcess(workroot / "probe", free_port(), free_port(), "sqlite:///unused", extra_config={"Plugins": []})
    probe.start()
    try:
        def stored(path):
            try:
                return probe.store([path], timeout=30) == [0]
            except (RuntimeError, ValueError):
                return False
        kept = ([], [])
        for group, accepted in zip((images_, reports), kept):
            for path in group:
                if stored(path):
                    accepted.append(path)
                else:
                    log(f"  left out {path.name}: Orthanc does not store it")
    finally:
        probe.stop()
        shutil.rmtree(workroot / "probe", ignore_errors=True)
    return kept[0], kept[1]


def history(folder: Path, instances: int, images_per_study: int, image_sources: list[Path],
            report_sources: list[Path]) -> list[Path]:
    """Write the corpus-like history into ``folder``; return the paths in the order they are stored."""
    import pydicom
    from pydicom.uid import generate_uid

    from batch import _save_copy

    folder.mkdir(parents=True, exist_ok=True)
    paths, study = [], 0
    while len(paths) < instances:
        study_uid = generate_uid()
        image = pydicom.dcmread(image_sources[study % len(image_sources)])
        series_uid = generate_uid()
        for number in range(min(images_per_study, instances - len(paths))):
            image.InstanceNumber = number + 1
            paths.append(folder / f"{len(paths):06d}.dcm")
            _save_copy(image, paths[-1], study_uid, series_uid)
        if len(paths) < instances:
            report = pydicom.dcmread(report_sources[study % len(report_sources)])
            paths.append(folder / f"{len(paths):06d}.dcm")
            _save_copy(report, paths[-1], study_uid, generate_uid())
        study += 1
    return paths


def rewritable(candidates: list[Path], folder: Path) -> list[Path]:
    """The sources pydicom can write back with new UIDs (a few corpus files carry elements it cannot re-encode)."""
    import pydicom
    from pydicom.uid import generate_uid

    from batch import _save_copy

    kept = []
    for source in candidates:
        try:
            _save_copy(pydicom.dcmread(source), folder / "probe.dcm", generate_uid(), generate_uid())
            kept.append(source)
        except Exception as exc:  # left out of the history, and said so
            log(f"  left out {source.name}: pydicom cannot rewrite it ({type(exc).__name__})")
    (folder / "probe.dcm").unlink(missing_ok=True)
    return kept


def health(session, url: str) -> dict | None:
    answer = session.get(url + "/kerma/api/health", timeout=30)
    return answer.json() if answer.status_code == 200 else None


def one_engine(engine: str, paths: list[Path], workroot: Path, postgres=None) -> dict:
    workdir = workroot / engine
    if engine == "sqlite":
        database_url = f"sqlite:///{workdir / 'kerma.sqlite'}"
    else:
        from conftest import new_postgres_database

        database_url = new_postgres_database(postgres)

    def orthanc(**config) -> OrthancProcess:
        return OrthancProcess(workdir, free_port(), free_port(), database_url, auth=AUTH, extra_config=config)

    log(f"[{engine}] storing {len(paths)} instances in Orthanc without Kerma ...")
    alone = orthanc(Plugins=[]).start()
    try:
        started = time.perf_counter()
        statuses = []
        for i in range(0, len(paths), STORE_CHUNK):
            statuses += alone.store(paths[i:i + STORE_CHUNK], timeout=120)
        store_s = time.perf_counter() - started
        stored = alone.session().get(alone.url + "/statistics").json()["CountInstances"]
        last_seq = alone.session().get(alone.url + "/changes?last").json()["Last"]
    finally:
        alone.stop()
    refused = sum(1 for s in statuses if s != 0)
    log(f"[{engine}] stored {stored} ({refused} refused) in {store_s:.1f} s; Orthanc's log ends at change {last_seq}")

    log(f"[{engine}] starting Orthanc with Kerma (fresh database) and timing the back-fill ...")
    kerma = orthanc()
    log_offset = Path(kerma.log_path).stat().st_size
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    kerma.start(timeout=120)
    answering_s = time.perf_counter() - t0
    session, last = kerma.session(), {}

    def complete():
        h = health(session, kerma.url)
        if h is None:
            return None
        last.update(h)
        return h if sum(h["counts"]["dose_objects"].values()) >= stored and h["lag"] == 0 else None

    try:
        final, done = wait_for(complete, timeout=3600, interval=0.5)
        backfill_s = done - t0
    except TimeoutError:
        final, backfill_s = last, None
    finally:
        kerma.stop()
    with open(kerma.log_path, "rb") as f:
        f.seek(log_offset)
        start_line = next((line.decode("utf-8", "replace").strip() for line in f if b"Kerma: kerma: started:" in line), None)
    result = {
        "engine": engine,
        "instances": len(paths),
        "stored": stored,
        "refused": refused,
        "store_s": store_s,
        "orthanc_last_seq": last_seq,
        "answering_s": answering_s,
        "backfill_s": backfill_s,
        "instances_per_s": stored / backfill_s if backfill_s else None,
        "dose_objects": final.get("counts", {}).get("dose_objects"),
        "events": final.get("counts", {}).get("irradiation_events"),
        "studies": final.get("counts", {}).get("studies"),
        "cursor": final.get("cursor"),
        "lag": final.get("lag"),
        "start_line": start_line,
        "load_avg_1min": (load_before, os.getloadavg()[0]),  # before and after: the machine is shared
    }
    log(f"[{engine}] back-fill of {stored} instances: {backfill_s:.1f} s from Orthanc's start "
        f"({result['instances_per_s']:.0f} instances/s; Orthanc answered after {answering_s:.1f} s); "
        f"ledger {result['dose_objects']}" if backfill_s else f"[{engine}] TIMEOUT: last health {final}")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=3000)
    parser.add_argument("--images-per-study", type=int, default=19)
    parser.add_argument("--engine", action="append", choices=("sqlite", "postgresql"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (DICOM copies, storage, logs)")
    args = parser.parse_args(argv)
    engines = args.engine or ["sqlite", "postgresql"]

    workroot = Path(tempfile.mkdtemp(prefix="kerma-backfill-"))
    postgres = None
    try:
        log(f"writing {args.instances} instances ({args.images_per_study} images + 1 dose report per study) ...")
        image_sources, report_sources = sources(workroot)
        log(f"  {len(image_sources)} corpus images and {len(report_sources)} dose reports as sources")
        paths = history(workroot / "history", args.instances, args.images_per_study, image_sources, report_sources)
        if "postgresql" in engines:
            from support.postgres import PostgresServer

            postgres = PostgresServer(workroot / "pg", free_port()).start()
        results = [one_engine(engine, paths, workroot, postgres) for engine in engines]
    finally:
        if postgres is not None:
            postgres.close()
        if not args.keep:
            shutil.rmtree(workroot, ignore_errors=True)

    print(f"Back-fill of {args.instances} corpus-like instances ({args.images_per_study} images + 1 dose report "
          f"per study), Kerma added to an Orthanc that holds them:")
    print(f"{'engine':<11} {'stored':>6} {'back-fill':>10} {'inst/s':>7} {'load':>9}  ledger")
    for r in results:
        backfill = f"{r['backfill_s']:.1f} s" if r["backfill_s"] else "TIMEOUT"
        rate = f"{r['instances_per_s']:.0f}" if r["instances_per_s"] else "-"
        load = "{:.1f}-{:.1f}".format(*r["load_avg_1min"])
        print(f"{r['engine']:<11} {r['stored']:>6} {backfill:>10} {rate:>7} {load:>9}  {r['dose_objects']}")
        print(f"{'':<11} start line: {r['start_line']}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "args": vars(args) | {"json": str(args.json)},
                                         "results": results}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
