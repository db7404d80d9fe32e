#!/usr/bin/env python3
"""Kerma benchmark: ingestion rate, store-to-record latency, extraction time. Not a test: it reports.

    .venv/bin/python bench/run.py [--quick] [--only a|b|c|d|e|f|h|k|n|o|p|q|s] [--json out.json]
    .venv/bin/python bench/run.py --before REV [--quick] [--only a|b|c]   # (a), (b), (c) at REV and now, side by side

(a) C-STORE rate of Orthanc alone vs Orthanc + Kerma (mixed CT + RDSR batch, DCMTK storescu, interleaved runs)
(b) store-to-record latency p50/p99 (pynetdicom, one RDSR at a time, poll the study's record every 10 ms)
(c) extraction time per corpus RDSR, warm, in-process, next to DCMTK dcm2json; OpenREM's figures for comparison
(d) C-STORE rate of one 500-slice CT series (512x512, 16-bit, synthetic), alone vs + Kerma, as (a); the study
    must fold into one acquisition of 500 slices
(e) header read per image instance (synthetic CT slice, corpus images), warm, in-process, next to pydicom
(h) 10,000 HL7 ADT/ORM messages over MLLP while (a)'s batch is stored: messages/s, C-STORE ratio (only with --only h)
(k) peak skin dose + map per corpus fluoroscopy RDSR, side by side with PySkinDose on the files it reads
(n) SSDE time per CT series: a generated 500-slice series, every slice against slices sampled every 10 mm; corpus
    CT images
(o) OCR of generated CT dose screens: time per screen for each engine (glyph, tesseract), values right / flagged /
    wrong over 500 screens each (only with --only o: tesseract takes a few seconds a screen)
(p) (a)'s batch with generated CT dose screens among it (read by OCR in Kerma's OCR process): C-STORE ratio to Orthanc
    alone, target 0.9, and when the OCR queue is empty (only with --only p)
(q) (a)'s batch plus copies of every corpus fluoroscopy RDSR: Orthanc alone vs Kerma with the dosimetry process off vs
    on, interleaved; C-STORE ratios side by side, and when every study's derived doses are computed (only with --only q)
(f) extract() on 100,000 mutated corpus objects (--mutants, --seed): outcomes, time per object, exceptions (only with
    --only f: ~15 minutes)
(s) statistics at scale: median table and DRL-exceedance list over 1,000,000 generated events, SQLite and PostgreSQL,
    with a profile and faster prototypes (only with --only s: several minutes)

See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BATCH_RDSRS, CT_IMAGE, HIGHLIGHT, dose_reports, machine, median  # noqa: E402

TARGETS = {
    "ingestion_ratio_min": 0.8,      # Orthanc + Kerma C-STORE rate / Orthanc alone
    "latency_p99_max_s": 1.0,
    "extraction_speedup_min": 20.0,  # OpenREM's 50 s / Kerma's total over the corpus
    "dcm2json_ratio_max": 3.0,       # per file
    "ct_series_ratio_min": 0.8,      # (d) the same ingestion target, for one CT series
    "screens_ratio_min": 0.9,        # (p) (a)'s batch with dose screens read by OCR (issue 12)
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def ms3(seconds: float | None) -> str:
    """Sub-millisecond times of (e)."""
    return "-" if seconds is None else f"{seconds * 1000:.3f} ms"


def run_a(args, workroot: Path) -> dict:
    from batch import mixed_batch
    from ingest import ingestion
    from kerma.extract import extract

    n_ct, n_rdsr, runs = (80, 20, 1) if args.quick else (400, 100, 3)
    runs = args.runs or runs
    log(f"(a) building {n_ct} CT + {n_rdsr} RDSR copies ...")
    paths = mixed_batch(workroot / "batch", CT_IMAGE, n_ct, BATCH_RDSRS, n_rdsr)

    def ok_records(ok: dict[Path, bool]) -> int:
        """The ok records Kerma must write: the CT image carries CTDIvol (a header record per copy) since header
        extraction."""
        return n_ct * ok[CT_IMAGE] + sum(ok[BATCH_RDSRS[i % len(BATCH_RDSRS)]] for i in range(n_rdsr))
    expected_ok = ok_records({p: extract(p.read_bytes()).ok for p in (CT_IMAGE, *BATCH_RDSRS)})
    before = None
    if args.before_tree:
        from before import expected_ok as before_ok
        before = (args.before_tree, ok_records(before_ok(args.before_tree, [CT_IMAGE, *BATCH_RDSRS])))
    log(f"(a) {runs} interleaved run(s) per setup, fresh Orthanc storage each run; {expected_ok} ok records expected"
        + (f" ({before[1]} before)" if before else ""))
    result = ingestion(paths, expected_ok, runs, workroot, say=log, before=before)
    result["batch"] = {"instances": len(paths), "rdsr": n_rdsr, "ct": n_ct}
    result["ct_image"] = CT_IMAGE.name
    result["rdsr_sources"] = [p.name for p in BATCH_RDSRS]
    return result


def run_p(args, workroot: Path) -> dict:
    from batch import mixed_batch
    from ingest import ingestion
    from kerma.extract import extract
    from screens import interleaved, ocr_check, screen_files

    n_ct, n_rdsr, n_screens, runs = (80, 20, 10, 1) if args.quick else (400, 100, 25, 3)
    runs = args.runs or runs
    log(f"(p) building {n_ct} CT + {n_rdsr} RDSR copies and {n_screens} dose screens ...")
    batch = mixed_batch(workroot / "batch-p", CT_IMAGE, n_ct, BATCH_RDSRS, n_rdsr)
    paths = interleaved(batch, screen_files(workroot / "screens-p", n_screens))
    ct_ok = extract(CT_IMAGE.read_bytes()).ok
    rdsr_ok = [extract(p.read_bytes()).ok for p in BATCH_RDSRS]
    expected_ok = n_ct * ct_ok + sum(rdsr_ok[i % len(rdsr_ok)] for i in range(n_rdsr)) + n_screens
    log(f"(p) {runs} interleaved run(s) per setup; {expected_ok} ok records expected once the OCR queue is empty")
    result = ingestion(paths, expected_ok, runs, workroot, say=log, check=ocr_check(n_screens))
    result["batch"] = {"instances": len(paths), "rdsr": n_rdsr, "ct": n_ct, "screens": n_screens}
    result["ocr_after_e2e_median_s"] = median([r["ocr_after_e2e_s"] for r in result["runs"] if r.get("ocr_after_e2e_s")])
    return result


def run_q(args, workroot: Path) -> dict:
    from dosimetry import run

    return run(args, workroot, say=log)


def run_b(args, workroot: Path) -> dict:
    from batch import rdsr_copies
    from ingest import latency

    count = 20 if args.quick else 100
    log(f"(b) {count} RDSRs (+1 warm-up) one at a time, polling every 10 ms")
    files = rdsr_copies(workroot / "latency", dose_reports(), count + 1)
    if args.before_tree:
        from before import latency_pairs

        return latency_pairs(files, workroot, args.runs or (1 if args.quick else 2), args.before_tree, say=log)
    return latency(files, workroot, say=log)


def run_c(args, workroot: Path) -> dict:
    from extraction import extraction

    repeats, d_repeats = (3, 1) if args.quick else (7, 3)
    reports = dose_reports()
    if args.before_tree:
        from before import extraction_pairs

        log(f"(c) {len(reports)} corpus RDSRs, x{repeats} (warm) before and after, file by file")
        return extraction_pairs(reports, repeats, args.before_tree, say=log)
    log(f"(c) {len(reports)} corpus RDSRs, kerma x{repeats} (warm), dcm2json x{d_repeats}")
    return extraction(reports, repeats, d_repeats, say=log)


def run_d(args, workroot: Path) -> dict:
    from ctseries import ct_series
    from ingest import ingestion, study_check

    slices, runs = (100, 1) if args.quick else (500, 3)
    runs = args.runs or runs
    log(f"(d) building one CT series of {slices} slices, 512x512 16-bit ...")
    series = ct_series(workroot / "ctseries", slices)
    log(f"(d) {runs} interleaved run(s) per setup, {series['bytes_per_slice'] / 1024:.0f} KB per slice")
    result = ingestion(series["paths"], slices, runs, workroot, say=log, e2e_timeout=120.0,
                       check=study_check(series["study_instance_uid"], slices))
    kerma_runs = [r for r in result["runs"] if r["kind"] == "kerma"]
    result["series"] = {k: v for k, v in series.items() if k != "paths"}
    result["series"]["total_bytes"] = sum(p.stat().st_size for p in series["paths"])
    result["study_checks"] = [{k: r.get(k) for k in ("check_ok", "study_events", "study_slice_counts", "study_get_s")}
                              for r in kerma_runs]
    result["study_check_ok"] = bool(kerma_runs) and all(r.get("check_ok") for r in kerma_runs)
    result["study_get_median_s"] = median([r["study_get_s"] for r in kerma_runs if r.get("study_get_s") is not None])
    result["study_event"] = next((r.get("study_event") for r in kerma_runs if r.get("study_event")), None)
    return result


def run_e(args, workroot: Path) -> dict:
    from corpus import images  # tests/corpus.py
    from ctseries import one_slice
    from headers import header_reads

    repeats, pixel_repeats = (5, 3) if args.quick else (21, 9)
    files = images()
    log(f"(e) header read: synthetic CT slice + {len(files)} corpus images, x{repeats} (pixels x{pixel_repeats}), warm")
    return header_reads(one_slice(), files, repeats, pixel_repeats, say=log)


def print_ingestion(a: dict, title: str) -> None:
    """The table of (a) and (d)."""
    n = a["instances"]
    print(title)
    print(f"    {'setup':28s} {'inst/s':>8s} {'seconds':>8s}")
    print(f"    {'Orthanc alone, C-STORE':28s} {a['alone_rate']:8.0f} {n / a['alone_rate']:8.2f}")
    print(f"    {'Orthanc + Kerma, C-STORE':28s} {a['kerma_rate']:8.0f} {n / a['kerma_rate']:8.2f}")
    e2e, records = a["kerma_e2e_s"], a["kerma_records_s"]
    print(f"    {'Orthanc + Kerma, end-to-end':28s} " + (f"{n / e2e:8.0f} {e2e:8.2f}" if e2e else f"{'-':>8s} {'-':>8s}")
          + f"   (storescu start -> all {n} records written and health lag 0)")
    print(f"    {'  of which: all records':28s} " + (f"{n / records:8.0f} {records:8.2f}" if records else f"{'-':>8s} {'-':>8s}")
          + "   (storescu start -> all records written)")
    if a.get("kerma_timeouts"):
        print(f"    WARNING: {a['kerma_timeouts']} Kerma run(s) never showed all records and lag 0 (timeout; "
              "'last_health' and 'orthanc_log_tail' in the JSON)")
    print_ratios(a)


def run_h(args, workroot: Path) -> dict:
    from batch import mixed_batch
    from hl7 import run

    n_ct, n_rdsr, count = (80, 20, 1000) if args.quick else (400, 100, 10000)
    paths = mixed_batch(workroot / "batch-h", CT_IMAGE, n_ct, BATCH_RDSRS, n_rdsr)
    log(f"(h) {count} HL7 messages while {n_ct} CT + {n_rdsr} RDSR are stored, {args.runs or 1} pair(s)")
    return run(paths, count, args.runs or 1, workroot, say=log)


def run_k(args, workroot: Path) -> dict:
    from skindose import run

    return run(args, workroot, say=log)


def run_n(args, workroot: Path) -> dict:
    from ssde import run

    return run(args, workroot, say=log)


def run_o(args, workroot: Path) -> dict:
    from ocr import run

    return run(args, workroot, say=log)


def run_f(args, workroot: Path) -> dict:
    from fuzz import run

    count = args.mutants or (5_000 if args.quick else 100_000)
    log(f"(f) {count} mutants, seed {args.seed}")
    return run(count, args.seed, workroot, say=log)


def run_s(args, workroot: Path) -> dict:
    from statscale import run

    return run(args, workroot, say=log)


def print_a(a: dict) -> None:
    b = a["batch"]
    print_ingestion(a, f"\n(a) C-STORE, one association, {b['instances']} instances ({b['ct']} CT + {b['rdsr']} RDSR; "
                       f"{a['expected_ok']} give ok records), median of {a['runs_per_setup']} interleaved run(s)")


def print_p(p: dict) -> None:
    b = p["batch"]
    print_ingestion(p, f"\n(p) C-STORE, one association, {b['instances']} instances ({b['ct']} CT + {b['rdsr']} RDSR + "
                       f"{b['screens']} dose screens read by OCR), median of {p['runs_per_setup']} interleaved run(s)")
    print(f"    OCR queue empty {p['ocr_after_e2e_median_s'] or 0:.1f} s after the last ledger row (median)")


def print_ratios(a: dict) -> None:
    print(f"    ratio C-STORE    Kerma/alone = {a['ratio_cstore']:.2f}   "
          f"(per pair: {', '.join(f'{r:.2f}' for r in a['pair_ratios_cstore'])})")
    print(f"    ratio end-to-end alone/Kerma = {a['ratio_e2e']:.2f}   "
          f"(alone: storescu process {a['alone_wall_s']:.2f} s)")
    if not a["all_runs_complete"]:
        print("    WARNING: some runs were incomplete (see 'runs' in the JSON)")


def print_d(d: dict) -> None:
    s = d["series"]
    print_ingestion(d, f"\n(d) C-STORE, one association, one CT series of {s['slices']} slices (synthetic, 512x512 16-bit, "
                       f"{s['bytes_per_slice'] / 1024:.0f} KB each, {s['total_bytes'] / 2**20:.0f} MiB), "
                       f"median of {d['runs_per_setup']} interleaved run(s)")
    checks = d["study_checks"]
    summary = "; ".join(f"{c['study_events']} event(s), slice_count {', '.join(str(x) for x in c['study_slice_counts'] or [])}"
                        if c.get("study_events") is not None else "no study view" for c in checks)
    print(f"    study check, each Kerma run: GET /kerma/api/studies/<uid> -> {summary}   "
          f"[{'OK' if d['study_check_ok'] else 'FAILED'}: want 1 event, slice_count {s['slices']}]")
    e = d.get("study_event")
    if e:
        print(f"      the event: CTDIvol mean {e['ctdivol_mGy']} mGy (min {e['ctdivol_min_mGy']}, max {e['ctdivol_max_mGy']}; "
              f"built with mean {s['ctdivol_mean_mGy']:.4f}), scan length {e['scan_length_mm']} mm, "
              f"DLP {e['dlp_mGycm']} mGy.cm{' (estimated)' if e['dlp_estimated'] else ''}, copies {e['copies']}")
    print(f"      the study GET itself ({s['slices']} dose objects behind it): median {ms(d['study_get_median_s'])}")


def print_e(e: dict) -> None:
    print(f"\n(e) header read per instance, warm, in-process, bytes in memory (median of {e['repeats']}; "
          f"full read + pixels median of {e['pixel_repeats']}, uncompressed pixels only)")
    print(f"    {'file':58s} {'KB':>5s} {'kerma':>12s} {'pydicom hdr':>11s} {'+pixels':>8s} {'k/hdr':>6s} {'k/pix':>6s}  ms")

    def line(r: dict, mark: str = " ") -> None:
        status = r["kerma_status"] if r["kerma_status"] != "ok" else r["kerma_source"]
        hdr = "error" if r["pydicom_header_s"] is None else f"{r['pydicom_header_s'] * 1000:.3f}"
        pix = "-" if r["pydicom_pixels_s"] is None else f"{r['pydicom_pixels_s'] * 1000:.3f}"
        rh = "-" if r["ratio_header"] is None else f"{r['ratio_header']:.2f}"
        rp = "-" if r["ratio_pixels"] is None else f"{r['ratio_pixels']:.2f}"
        why = "" if r["pydicom_pixels_s"] is not None else f"  (+pixels: {r['pixels_skipped'] or r['pydicom_error']})"
        name = r["file"] if len(r["file"]) <= 58 else r["file"][:55] + "..."
        print(f"  {mark} {name:58s} {r['bytes'] / 1024:5.0f} {status[:6]:>6s} {r['kerma_s'] * 1000:5.3f} {hdr:>11s} "
              f"{pix:>8s} {rh:>6s} {rp:>6s}{why}")
    line(e["synthetic"], "*")
    for r in e["rows"]:
        line(r)
    print(f"    median per instance over the {e['files']} corpus images ({e['files_ok']} ok): kerma {ms3(e['kerma_median_s'])}, "
          f"pydicom header-only {ms3(e['pydicom_header_median_s'])}, ratio kerma/pydicom median {e['ratio_header_median']:.2f} "
          f"(max {e['ratio_header_max']:.2f})")
    if e["files_pixels_timed"]:
        print(f"    the {e['files_pixels_timed']} images whose pixels pydicom decodes: kerma {ms3(e['kerma_median_uncompressed_s'])}, "
              f"full read + pixel_array {ms3(e['pydicom_pixels_median_s'])}, ratio median {e['ratio_pixels_median']:.2f}")
    elif e["numpy_missing"]:
        print(f"    full read + pixel_array not timed: {e['numpy_missing']}")
    s = e["synthetic"]
    print(f"    * synthetic 512x512 CT slice: kerma {ms3(s['kerma_s'])}, pydicom header-only {ms3(s['pydicom_header_s'])}, "
          f"full read + pixel_array {ms3(s['pydicom_pixels_s'])}")


def print_b(b: dict) -> None:
    print(f"\n(b) store-to-record latency, {b['files']} RDSRs one at a time (C-STORE response -> "
          f"GET /kerma/api/studies/<uid> answers 200, polled every {b['poll_s'] * 1000:.0f} ms)")
    print(f"    p50 {ms(b['p50_s'])}   p90 {ms(b['p90_s'])}   p99 {ms(b['p99_s'])}   max {ms(b['max_s'])}   "
          f"(C-STORE itself p50 {ms(b['cstore_p50_s'])}; warm-up file {ms(b['warmup']['latency_s'])})")
    print("    slowest: " + ", ".join(f"{s['source']} {ms(s['latency_s'])}" for s in b["slowest"]))
    if b["timeouts"] or b["bad_status"]:
        print(f"    WARNING: {b['timeouts']} never visible, {b['bad_status']} C-STORE status not 0")


def print_c(c: dict) -> None:
    ref = c["openrem_reference"]
    print(f"\n(c) extraction, warm, in-process (median of {c['repeats']}) vs dcm2json process "
          f"(median of {c['dcm2json_repeats']}); * = highlighted")
    print(f"    {'file':56s} {'KB':>6s} {'kerma ms':>9s} {'dcm2json ms':>11s} {'ratio':>6s}")
    for r in c["rows"]:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        d = "refused" if r["dcm2json_s"] is None else f"{r['dcm2json_s'] * 1000:.1f}"
        print(f"  {'*' if r['highlight'] else ' '} {r['file']:56s} {r['bytes'] / 1024:6.0f} "
              f"{r['kerma_s'] * 1000:9.1f} {d:>11s} {ratio:>6s}")
    print(f"    {'TOTAL (' + str(c['files']) + ' files)':56s} {'':6s} {c['kerma_total_s'] * 1000:9.1f} "
          f"{c['dcm2json_total_s'] * 1000:11.1f}  (dcm2json: the files it reads)")
    for name, error in c["dcm2json_failed"].items():
        print(f"    dcm2json refuses {name}: {error}")
    print(f"    median per file: kerma {ms(c['kerma_median_per_file_s'])}; ratio to dcm2json median "
          f"{c['median_ratio']:.2f}, max {c['max_ratio']:.2f}")
    rows = {Path(r["file"]).name: r for r in c["rows"]}
    az, big = rows.get(HIGHLIGHT[0]), rows.get(HIGHLIGHT[1])
    print("    OpenREM 1.0.0b3 (the issue, another machine) vs Kerma here:")
    print(f"      {ref['files']} RDSRs of its test suite: {ref['total_s']:.0f} s total, median {ref['median_per_file_s']} s/file"
          f"   | Kerma: {c['files']} corpus RDSRs {c['kerma_total_s']:.3f} s total "
          f"({c['speedup_vs_openrem_total']:.0f}x faster), median {ms(c['kerma_median_per_file_s'])}")
    if az:
        print(f"      Azurion report: {ref['azurion_s']} s, dcm2json {ref['dcm2json_azurion_s']} s, naive pydicom walk "
              f"{ref['naive_pydicom_walk_s']} s   | here: Kerma {ms(az['kerma_s'])}, dcm2json {ms(az['dcm2json_s'])}, "
              f"pydicom read+walk {ms(c['pydicom_walk_azurion_s'])}")
    if big:
        print(f"      3.3 MB report, 316 events: {ref['big_316_events_s']} s   | here: Kerma {ms(big['kerma_s'])}, "
              f"dcm2json {ms(big['dcm2json_s'])}")


def targets(summary: dict) -> list[tuple[str, str, str, str]]:
    """(target, measured, verdict, note) rows for the parts that ran."""
    rows = []
    a, b, c, d, e = (summary.get(part) for part in "abcde")
    h = summary.get("h")
    if h:
        t = TARGETS["ingestion_ratio_min"]
        rows.append((f"ingestion ratio under HL7 load >= {t}", f"{h['ratio_cstore']:.2f}", verdict(h["ratio_cstore"] >= t),
                     f"{h['hl7_rate']:.0f} HL7 messages/s"))
    if summary.get("q"):
        from dosimetry import target_rows as dosimetry_rows
        rows += dosimetry_rows(summary["q"], verdict)
    p = summary.get("p")
    if p:
        t = TARGETS["screens_ratio_min"]
        rows.append((f"ingestion ratio C-STORE with dose screens >= {t}", f"{p['ratio_cstore']:.2f}",
                     verdict(p["ratio_cstore"] >= t and p["all_runs_complete"]), "OCR in its own process"))
    if a:
        t = TARGETS["ingestion_ratio_min"]
        rows.append((f"ingestion ratio C-STORE >= {t}", f"{a['ratio_cstore']:.2f}", verdict(a["ratio_cstore"] >= t), ""))
        rows.append((f"ingestion ratio end-to-end >= {t}", f"{a['ratio_e2e']:.2f}", verdict(a["ratio_e2e"] >= t),
                     "alone's C-STORE time / Kerma's time to last record"))
    if b:
        t = TARGETS["latency_p99_max_s"]
        rows.append((f"latency p99 <= {t:g} s", ms(b["p99_s"]), verdict(b["p99_s"] is not None and b["p99_s"] <= t and not b["timeouts"]), ""))
    if c:
        t = TARGETS["extraction_speedup_min"]
        rows.append((f"corpus extraction >= {t:g}x faster than OpenREM's 50 s", f"{c['speedup_vs_openrem_total']:.0f}x",
                     verdict(c["speedup_vs_openrem_total"] >= t), f"{c['files']} files here vs OpenREM's 41"))
    if c and "dcm2json_failed" in c:  # not timed by --before
        t = TARGETS["dcm2json_ratio_max"]
        compared = c["files"] - len(c["dcm2json_failed"])
        rows.append((f"per file <= {t:g}x dcm2json", f"max {c['max_ratio']:.2f}x", verdict(c["max_ratio"] <= t),
                     f"over: {', '.join(c['files_over_3x'])}" if c["files_over_3x"]
                     else f"{compared} of {c['files']} files compared (dcm2json refuses the others)"))
    if d:
        t = TARGETS["ct_series_ratio_min"]
        n = d["series"]["slices"]
        rows.append((f"CT series ingestion ratio C-STORE >= {t}", f"{d['ratio_cstore']:.2f}", verdict(d["ratio_cstore"] >= t),
                     f"one series of {n} slices of 512x512"))
        rows.append((f"CT series ingestion ratio end-to-end >= {t}", f"{d['ratio_e2e']:.2f}", verdict(d["ratio_e2e"] >= t),
                     "alone's C-STORE time / Kerma's time to last record"))
        counts = sorted({x for c in d["study_checks"] for x in (c.get("study_slice_counts") or [])})
        rows.append((f"CT series -> 1 event, slice_count {n}", f"{'ok' if d['study_check_ok'] else 'wrong'}",
                     verdict(d["study_check_ok"]),
                     f"events per run {[c.get('study_events') for c in d['study_checks']]}, slice counts {counts}"))
    if e:
        s = e["synthetic"]
        note = (f"pydicom header-only {ms3(s['pydicom_header_s'])}, full + pixels {ms3(s['pydicom_pixels_s'])}; no target set")
        if d:
            note += f"; {s['kerma_s'] * d['alone_rate'] * 100:.1f}% of a core at (d)'s alone rate"
        rows.append(("header read, synthetic CT slice (info)", ms3(s["kerma_s"]), verdict(None), note))
        rows.append(("header read, corpus images, median (info)", ms3(e["kerma_median_s"]), verdict(None),
                     f"pydicom header-only {ms3(e['pydicom_header_median_s'])}, ratio median {e['ratio_header_median']:.2f}"))
    if summary.get("k"):
        from skindose import target_rows as skin_rows
        rows += skin_rows(summary["k"], verdict)
    if summary.get("n"):
        from ssde import target_rows as ssde_rows
        rows += ssde_rows(summary["n"], verdict)
    if summary.get("o"):
        from ocr import target_rows as ocr_rows
        rows += ocr_rows(summary["o"], verdict)
    if summary.get("f"):
        from fuzz import target_rows as fuzz_rows
        rows += fuzz_rows(summary["f"], verdict)
    if summary.get("s"):
        from statscale import target_rows
        rows += target_rows(summary["s"], verdict)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="small batches (80 CT + 20 RDSR; a 100-slice series), 1 run each, 20 latency files, fewer repeats")
    p.add_argument("--only", choices=["a", "b", "c", "d", "e", "f", "h", "k", "n", "o", "p", "q", "s"], action="append", help="run only this part (repeatable)")
    p.add_argument("--ocr-screens", type=int, help="(o): screens per engine (default 500, --quick 40 glyph / 20 tesseract)")
    p.add_argument("--mutants", type=int, help="(f): mutants to extract (default 100,000, --quick 5,000)")
    p.add_argument("--seed", type=int, default=20261202, help="(f): seed of the mutants (default 20261202)")
    p.add_argument("--runs", type=int, help="(a) and (d): interleaved runs per setup (default 3, --quick 1); (b) with "
                   "--before: latency runs per side (default 2, --quick 1)")
    p.add_argument("--before", metavar="REV", help="(a), (b) and (c) for the code at git revision REV too, interleaved "
                   "with this working tree's in the same run, and printed side by side")
    p.add_argument("--json", type=Path, help="write the summary (all raw runs and samples) to this file")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder with the generated DICOM copies")
    args = p.parse_args(argv)
    parts = args.only or (["a", "b", "c"] if args.before else ["a", "b", "c", "d", "e", "k", "n"])
    if args.before and set(parts) - {"a", "b", "c"}:
        p.error("--before compares (a), (b) and (c) only")

    summary = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": args.quick, "machine": machine(),
               "targets": TARGETS}
    workroot = Path(tempfile.mkdtemp(prefix="kerma-bench-"))
    args.before_tree = None
    try:
        if args.before:
            from before import unpack

            summary["before"] = unpack(args.before, workroot / "before")
            args.before_tree = Path(summary["before"]["tree"])
            log(f"before: {summary['before']['described']}")
        for part, fn in (("c", run_c), ("e", run_e), ("k", run_k), ("n", run_n), ("b", run_b), ("a", run_a), ("p", run_p), ("q", run_q), ("d", run_d), ("h", run_h),
                         ("o", run_o), ("f", run_f), ("s", run_s)):  # cheapest first
            if part in parts:
                started = time.perf_counter()
                summary[part] = fn(args, workroot)
                summary[part]["bench_seconds"] = time.perf_counter() - started
    finally:
        if not args.keep:
            shutil.rmtree(workroot, ignore_errors=True)

    print(f"Kerma benchmark{' (--quick)' if args.quick else ''}, {summary['started']}, "
          f"{summary['machine']['cpus']} CPUs, load avg at start {summary['machine']['load_avg'][0]:.2f}")
    for part, show in (("a", print_a), ("p", print_p), ("b", print_b), ("c", print_c), ("d", print_d), ("e", print_e)):
        if part in summary and not (part == "c" and args.before):  # --before's (c) has no dcm2json: shown below
            show(summary[part])
    if args.before:
        from before import show as print_before
        print_before(summary)
    if "h" in summary:
        from hl7 import show as print_h
        print_h(summary["h"])
    if "q" in summary:
        from dosimetry import show as print_q
        print_q(summary["q"])
    if "k" in summary:
        from skindose import show as print_k
        print_k(summary["k"])
    if "n" in summary:
        from ssde import show as print_n
        print_n(summary["n"])
    if "o" in summary:
        from ocr import show as print_o
        print_o(summary["o"])
    if "f" in summary:
        from fuzz import show as print_f
        print_f(summary["f"])
    if "s" in summary:
        from statscale import show as print_s
        print_s(summary["s"])
    rows = targets(summary)
    summary["verdicts"] = [dict(zip(("target", "measured", "verdict", "note"), r)) for r in rows]
    print("\nTargets")
    for target, measured, v, note in rows:
        print(f"    {v:4s}  {target:50s} {measured:>10s}   {note}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str) + "\n")
        print(f"\nJSON summary: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
