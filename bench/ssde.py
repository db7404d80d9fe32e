"""(n) SSDE time per CT series: every slice against slices sampled along z, on a generated series and the corpus.

* A generated series of 500 axial slices (``--quick``: 100), 512 x 512, 0.8 mm pixels, 1 mm apart: the torso of
  ``tests/ct_phantoms.py`` (trunk whose size changes along z, lungs, spine, arms, a couch, 20 HU noise), written as
  uncompressed DICOM files in the work folder. ``kerma.dosimetry.ssde.ssde_of_files`` on all its files, once
  measuring every slice and once sampled every 10 mm (the default): wall and CPU time per series (headers of all
  files read in both), slices measured, mean Dw and SSDE of both and their difference (the sampled answer must be
  within 1 % of the all-slice one).
* Every CT image of the corpus (``public/ct_image``: single images of several series, JPEG Lossless and
  uncompressed), each file as its series: time per file and what it answered.

In this process, warm (one run before the timed one for the corpus files); CPU work that ingestion would hand to a
worker process, not the C-STORE path.
"""

from __future__ import annotations

import time
from pathlib import Path

SPACING_MM = 10.0


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def generated_series(folder: Path, slices: int) -> list[Path]:
    from ct_phantoms import Series, Slice, torso, write_series  # tests/ct_phantoms.py

    stack = [Slice(torso(float(z), size=512, pixel_mm=0.8, noise_hu=20.0, seed=7), 0.8, z_mm=float(z), ctdivol_mGy=12.0)
             for z in range(-50, -50 + slices)]
    return write_series(folder, stack, Series(description="bench torso"))


def run(args, workroot: Path, say) -> dict:
    from common import CORPUS  # noqa: E402  (bench/common.py)
    from kerma.dosimetry.ssde import ssde_of_files

    slices = 100 if args.quick else 500
    say(f"(n) writing a {slices}-slice 512x512 torso series")
    paths, _, _ = _timed(lambda: generated_series(workroot / "ssde-series", slices))
    (every,), every_wall, every_cpu = _timed(lambda: ssde_of_files(paths, spacing_mm=None))
    (sampled,), sampled_wall, sampled_cpu = _timed(lambda: ssde_of_files(paths, spacing_mm=SPACING_MM))
    generated = {
        "slices": slices, "spacing_mm": SPACING_MM,
        "all": {"wall_s": every_wall, "cpu_s": every_cpu, "slices_used": every["slices_used"],
                "dw_cm": every["dw_cm"], "ssde_mGy": every["ssde_mGy"]},
        "sampled": {"wall_s": sampled_wall, "cpu_s": sampled_cpu, "slices_used": sampled["slices_used"],
                    "dw_cm": sampled["dw_cm"], "ssde_mGy": sampled["ssde_mGy"]},
        "dw_difference": sampled["dw_cm"] / every["dw_cm"] - 1,
        "ssde_difference": sampled["ssde_mGy"] / every["ssde_mGy"] - 1,
    }
    corpus_rows = []
    for path in sorted((CORPUS / "public" / "ct_image").glob("*.dcm")):
        ssde_of_files([path])
        answers, wall, cpu = _timed(lambda: ssde_of_files([path]))
        a = answers[0]
        corpus_rows.append({"file": path.name, "wall_s": wall, "cpu_s": cpu, "status": a["status"],
                            "method": a.get("method"), "dw_cm": a.get("dw_cm"), "ssde_mGy": a.get("ssde_mGy"),
                            "truncated": a.get("truncated"), "why": a.get("reason") or "; ".join(a.get("reasons") or [])})
    return {"generated": generated, "corpus": corpus_rows}


def show(n: dict) -> None:
    g = n["generated"]
    print(f"\n(n) SSDE per CT series: generated torso, {g['slices']} slices 512x512 (1 mm apart), in this process")
    print(f"    {'':22s} {'wall':>8s} {'cpu':>8s} {'slices':>7s} {'Dw cm':>8s} {'SSDE mGy':>9s}")
    for label, key in (("every slice", "all"), (f"sampled {g['spacing_mm']:g} mm", "sampled")):
        r = g[key]
        print(f"    {label:22s} {r['wall_s']:7.2f}s {r['cpu_s']:7.2f}s {r['slices_used']:7d} {r['dw_cm']:8.3f} "
              f"{r['ssde_mGy']:9.3f}")
    print(f"    sampled - all: Dw {g['dw_difference'] * 100:+.2f} %, SSDE {g['ssde_difference'] * 100:+.2f} %; "
          f"speed-up {g['all']['wall_s'] / g['sampled']['wall_s']:.1f}x")
    print("    corpus CT images (each file its series):")
    for r in n["corpus"]:
        size = "-" if r["dw_cm"] is None else f"{r['dw_cm']:.1f}"
        print(f"    {r['file'][:52]:52s} {r['wall_s'] * 1000:7.0f} ms  {r['method'] or r['status']:26s} Dw {size:>5s}"
              f"{'  truncated' if r['truncated'] else ''}")


def target_rows(n: dict, verdict) -> list[tuple[str, str, str, str]]:
    g = n["generated"]
    return [("SSDE sampled Dw within 1 % of all slices", f"{g['dw_difference'] * 100:+.2f} %",
             verdict(abs(g["dw_difference"]) <= 0.01),
             f"{g['slices']} slices: {g['all']['wall_s']:.1f} s all, {g['sampled']['wall_s']:.1f} s sampled "
             f"({g['sampled']['slices_used']} slices)")]
