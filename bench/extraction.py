"""(c) Extraction time per corpus RDSR, in-process and warm, next to DCMTK's dcm2json on the same file."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from common import CORPUS, HIGHLIGHT, median
from extractor import extract_seconds

# OpenREM 1.0.0b3 importing the 41 RDSRs of its own test suite, as reported in the issue (another machine).
OPENREM = {
    "files": 41,
    "total_s": 50.0,
    "median_per_file_s": 0.22,
    "azurion_s": 9.3,
    "big_316_events_s": 24.6,
    "dcm2json_azurion_s": 0.31,
    "naive_pydicom_walk_s": 1.8,
}


def _dcm2json_seconds(path: Path, repeats: int) -> tuple[float | None, str | None]:
    """Median wall clock of the whole ``dcm2json FILE`` process (output discarded), or (None, its error)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        proc = subprocess.run(["dcm2json", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            return None, " / ".join(proc.stderr.strip().splitlines()) or f"exit code {proc.returncode}"
    return median(times), None


def _pydicom_walk_seconds(path: Path) -> float:
    """A naive pydicom read of the whole file plus a walk of every element (OpenREM's issue quotes 1.8 s for Azurion)."""
    import pydicom

    started = time.perf_counter()
    ds = pydicom.dcmread(path)
    for _ in ds.iterall():
        pass
    return time.perf_counter() - started


def extraction(reports: list[Path], repeats: int, dcm2json_repeats: int, say=print) -> dict:
    """Time ``kerma.extract.extract`` and ``dcm2json`` on every report; per file and in total."""
    rows = []
    for path in reports:
        kerma = extract_seconds(path.read_bytes(), repeats)
        dcm2json, error = _dcm2json_seconds(path, dcm2json_repeats)
        rows.append({
            "file": str(path.relative_to(CORPUS)),
            "bytes": path.stat().st_size,
            "kerma_s": kerma,
            "dcm2json_s": dcm2json,
            "ratio": kerma / dcm2json if dcm2json else None,
            "dcm2json_error": error,
            "highlight": path.name in HIGHLIGHT,
        })
    total = sum(r["kerma_s"] for r in rows)
    ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
    azurion = [p for p in reports if p.name == "RF-RDSR-Philips_Azurion.dcm"]
    summary = {
        "files": len(rows),
        "repeats": repeats,
        "dcm2json_repeats": dcm2json_repeats,
        "kerma_total_s": total,
        "kerma_median_per_file_s": median([r["kerma_s"] for r in rows]),
        "dcm2json_total_s": sum(r["dcm2json_s"] or 0 for r in rows),  # files it refuses count 0
        "dcm2json_failed": {r["file"]: r["dcm2json_error"] for r in rows if r["dcm2json_s"] is None},
        "speedup_vs_openrem_total": OPENREM["total_s"] / total,
        "max_ratio": max(ratios) if ratios else None,
        "median_ratio": median(ratios),
        "files_over_3x": [r["file"] for r in rows if r["ratio"] is not None and r["ratio"] > 3],
        "pydicom_walk_azurion_s": _pydicom_walk_seconds(azurion[0]) if azurion else None,
        "openrem_reference": OPENREM,
        "rows": rows,
    }
    say(f"  {len(rows)} reports: {total:.3f} s in total, median {summary['kerma_median_per_file_s'] * 1000:.1f} ms per file")
    return summary
