#!/usr/bin/env python3
"""Back-fill from a remote PACS: does live C-STORE keep its rate while a job runs? Not a test: it reports.

    .venv/bin/python bench/remote_backfill.py [--studies 60] [--ct 400] [--rdsr 100] [--runs 3] [--json out.json]
                                              [--keep]

1. A second Orthanc on loopback is the remote PACS (``tests/remote_pacs.py``), loaded with ``--studies`` studies of
   dose objects (an RDSR, a dose screen, a CT series, a DX image and a scanned form each), four a day.
2. The live batch is (a)'s: ``--ct`` copies of the corpus CT image and ``--rdsr`` corpus RDSRs, shuffled, sent by
   one ``storescu`` association into Kerma's Orthanc (``ingest.storescu``: the association's own time stamps).
3. Each run is a fresh Kerma's Orthanc (fresh storage, fresh SQLite database), in one of three setups, interleaved
   (the order turns from run to run):

   * ``idle``: no back-fill job;
   * ``job``: a job over the whole range (RDSRs, screens, one CT and one DX header image per study) with the
     default throttle (``BackfillInstancesPerSecond`` 10, ``BackfillQuietSeconds`` 2, ``BackfillMaxLag`` 100), in
     its retrieve phase when the live batch starts;
   * ``job-no-yield``: the same job that does not give way to live objects (``BackfillQuietSeconds`` 0,
     ``BackfillMaxLag`` out of reach): only its rate throttles it.

   A job run counts when the job was still retrieving when the live association ended (else ``[JOB ENDED]``).
   C-FINDs are allowed 50 a second (``BackfillQueriesPerSecond``) so that the listing ends before the live batch.

The ratio is the median live rate with a job / the median without; the target is >= 0.9.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BATCH_RDSRS, CT_IMAGE, machine, median, wait_for  # noqa: E402  (puts plugin/ and tests/ on sys.path)
from support.orthanc import free_port  # noqa: E402

TARGET_RATIO = 0.9
FIRST_DAY = dt.date(2025, 1, 6)
STUDIES_PER_DAY = 4
SETUPS = {  # name -> Kerma settings of its runs (None: no job)
    "idle": None,
    "job": {"Kerma.BackfillQueriesPerSecond": 50},
    "job-no-yield": {"Kerma.BackfillQueriesPerSecond": 50, "Kerma.BackfillMaxLag": 10**9, "Kerma.BackfillQuietSeconds": 0},
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_remote(workroot: Path, studies: int):
    """The remote PACS, started and loaded; (process, the DICOM port it moves to, first day, last day, objects a job
    over the range fetches)."""
    from remote_pacs import dose_study, remote_pacs

    local_port = free_port()
    remote = remote_pacs(workroot / "pacs", local_port)
    remote.start()
    paths, wanted = [], 0
    for i in range(studies):
        study = dose_study(FIRST_DAY + dt.timedelta(days=i // STUDIES_PER_DAY), seed=i + 1,
                           rdsr=BATCH_RDSRS[i % len(BATCH_RDSRS)])
        paths += study.write(workroot / "remote" / f"{i:04d}")
        wanted += len(study.wanted(header_images=True))
    statuses = remote.store(paths, timeout=120)
    again = [p for p, s in zip(paths, statuses) if s != 0]
    if again:  # an association that broke off on a loaded machine: the rest is sent once more
        log(f"  {len(again)} of {len(paths)} objects not stored ({Counter(statuses)}): sending them again")
        refused = sum(1 for s in remote.store(again, timeout=120) if s != 0)
        if refused:
            raise RuntimeError(f"the remote PACS refused {refused} objects; its log: {remote.log_path}")
    last_day = FIRST_DAY + dt.timedelta(days=(studies - 1) // STUDIES_PER_DAY)
    return remote, local_port, last_day, len(paths), wanted


def job_state(session, url: str, job_id: int) -> dict:
    return session.get(f"{url}/kerma/api/backfill/{job_id}", timeout=30).json()


def one_run(setup: str, remote, local_port: int, last_day: dt.date, paths: list[Path], workroot: Path,
            log_config: Path) -> dict:
    from ingest import storescu
    from remote_pacs import kerma_orthanc

    workdir = Path(tempfile.mkdtemp(prefix=f"{setup}-", dir=workroot))
    local, name = kerma_orthanc(workdir, f"sqlite:///{workdir / 'kerma.sqlite'}", remote, local_port,
                                SETUPS[setup] or {})
    local.start(timeout=120)
    try:
        session, before = local.session(), None
        if SETUPS[setup] is not None:
            answer = session.post(f"{local.url}/kerma/api/backfill", json={
                "modality": name, "date_from": FIRST_DAY.isoformat(), "date_to": last_day.isoformat(),
                "header_images": ["CT", "DX"]}, timeout=30)
            answer.raise_for_status()
            job_id = answer.json()["id"]
            before, _ = wait_for(lambda: (lambda j: j if j["phase"] == "retrieve" and j["retrieved"] > 0 else None)(
                job_state(session, local.url, job_id)), timeout=600, interval=0.2)
        stored = storescu(paths, local.dicom_port, log_config)
        result = {"setup": setup, "rate": len(paths) / stored["assoc_s"] if stored["assoc_s"] else None,
                  "assoc_s": stored["assoc_s"], "failed": stored["failed"], "load_avg_1min": os.getloadavg()[0]}
        if before is not None:
            after = job_state(session, local.url, job_id)
            result.update(job_found=after["found"]["objects"], retrieved_before=before["retrieved"],
                          retrieved_after=after["retrieved"], job_phase_after=after["phase"],
                          job_overlapped=after["state"] == "running" and after["phase"] == "retrieve",
                          job_rate=((after["retrieved"] - before["retrieved"]) / stored["assoc_s"]
                                    if stored["assoc_s"] else None))
            session.post(f"{local.url}/kerma/api/backfill/{job_id}/cancel", json={}, timeout=30)
        return result
    finally:
        local.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=60, help="studies on the remote PACS (8 objects each)")
    parser.add_argument("--ct", type=int, default=400, help="CT images in the live batch")
    parser.add_argument("--rdsr", type=int, default=100, help="RDSRs in the live batch")
    parser.add_argument("--runs", type=int, default=3, help="runs per setup, interleaved")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (DICOM copies, logs)")
    args = parser.parse_args(argv)

    from batch import mixed_batch
    from ingest import LOG_CONFIG

    workroot = Path(tempfile.mkdtemp(prefix="kerma-remote-backfill-"))
    remote = None
    runs = []
    try:
        log(f"loading the remote PACS with {args.studies} studies ...")
        remote, local_port, last_day, on_remote, wanted = load_remote(workroot, args.studies)
        log(f"  {on_remote} objects, {wanted} of them dose objects a job fetches, {FIRST_DAY} to {last_day}")
        paths = mixed_batch(workroot / "live", CT_IMAGE, args.ct, BATCH_RDSRS, args.rdsr)
        log_config = workroot / "storescu-log.cfg"
        log_config.write_text(LOG_CONFIG)
        order = list(SETUPS)
        for i in range(args.runs):
            for setup in order[i % len(order):] + order[:i % len(order)]:
                r = one_run(setup, remote, local_port, last_day, paths, workroot, log_config)
                job = (f"; job retrieved {r['retrieved_after'] - r['retrieved_before']} meanwhile "
                       f"({r['retrieved_after']}/{r['job_found']}){'' if r['job_overlapped'] else ' [JOB ENDED]'}"
                       if "job_found" in r else "")
                log(f"  run {i + 1}/{args.runs} {setup:12s}: {r['rate']:.0f} inst/s live C-STORE{job}")
                runs.append(r)
    finally:
        if remote is not None:
            remote.stop()
        if not args.keep:
            shutil.rmtree(workroot, ignore_errors=True)

    idle = median([r["rate"] for r in runs if r["setup"] == "idle"])
    summary = {"machine": machine(), "args": vars(args) | {"json": str(args.json)}, "remote_objects": on_remote,
               "job_objects": wanted, "live_instances": len(paths), "idle_rate": idle, "setups": {}, "runs": runs}
    print(f"Live C-STORE into Kerma's Orthanc ({len(paths)} instances: {args.ct} CT + {args.rdsr} RDSR, one "
          f"association) with and without a back-fill job from a second Orthanc ({args.studies} studies, {wanted} "
          f"dose objects to fetch), median of {args.runs} interleaved run(s) per setup:")
    print(f"{'setup':<14} {'inst/s':>7} {'ratio':>6} {'per run':>18} {'job inst/s':>11}  job still retrieving at the end")
    for setup in SETUPS:
        mine = [r for r in runs if r["setup"] == setup]
        rate = median([r["rate"] for r in mine])
        ratio = rate / idle if setup != "idle" else None
        job_rate = median([r["job_rate"] for r in mine]) if setup != "idle" else None
        summary["setups"][setup] = {"rate": rate, "ratio": ratio, "job_rate": job_rate,
                                    "overlapped": [r.get("job_overlapped") for r in mine]}
        per_run = " ".join(f"{r['rate']:.0f}" for r in mine)
        print(f"{setup:<14} {rate:>7.0f} {'' if ratio is None else f'{ratio:.2f}':>6} {per_run:>18} "
              f"{'' if job_rate is None else f'{job_rate:.1f}':>11}  "
              f"{'' if setup == 'idle' else ', '.join('yes' if r['job_overlapped'] else 'NO' for r in mine)}")
    print("\nTarget")
    for setup in SETUPS:
        ratio = summary["setups"][setup]["ratio"]
        if ratio is not None:
            overlapped = all(summary["setups"][setup]["overlapped"])
            verdict = "n/a" if not overlapped else ("PASS" if ratio >= TARGET_RATIO else "FAIL")
            print(f"    {verdict:4s}  live C-STORE rate with a job ({setup}) / without >= {TARGET_RATIO}   {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, default=str) + "\n")
        print(f"\nJSON summary: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
