"""(e) Kerma's header read per image instance, in-process and warm, next to pydicom on the same bytes.

Per file, from bytes already in memory:

* ``kerma.extract.extract(data)``: the whole header path (parse up to the pixel data, decode the dose
  attributes, build the record), as the ingest worker runs it for every new image;
* ``pydicom.dcmread(BytesIO(data), stop_before_pixels=True, force=True)``: pydicom's header-only read
  (it parses the elements but converts values only when they are accessed);
* ``pydicom.dcmread(BytesIO(data), force=True).pixel_array``: a full read plus decoding the pixels,
  only for files whose pixels are not compressed (what reading the pixels would cost at the least).
"""

from __future__ import annotations

import io
import time
import warnings
from pathlib import Path

from common import CORPUS, median

TS_SHORT = {
    "1.2.840.10008.1.2": "implicit LE",
    "1.2.840.10008.1.2.1": "explicit LE",
    "1.2.840.10008.1.2.2": "explicit BE",
    "1.2.840.10008.1.2.1.99": "deflated",
    "1.2.840.10008.1.2.4.50": "JPEG baseline",
    "1.2.840.10008.1.2.4.57": "JPEG lossless",
    "1.2.840.10008.1.2.4.70": "JPEG lossless",
    "1.2.840.10008.1.2.4.90": "JPEG 2000 lossless",
    "1.2.840.10008.1.2.4.91": "JPEG 2000",
    "1.2.840.10008.1.2.5": "RLE",
}


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm: imports, tables, caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return median(times)


def _numpy_missing() -> str | None:
    try:
        import numpy  # noqa: F401  (pydicom's pixel_array needs it)
    except ImportError:
        return "numpy is not installed in this Python (.venv/bin/pip install numpy)"
    return None


def time_file(name: str, data: bytes, repeats: int, pixel_repeats: int) -> dict:
    """Figures of one file: Kerma, pydicom header-only, pydicom full + pixels (uncompressed only)."""
    import pydicom
    from kerma.extract import extract
    from pydicom.uid import UID, ImplicitVRLittleEndian

    record = extract(data)
    row = {
        "file": name,
        "bytes": len(data),
        "kerma_status": record.status,
        "kerma_source": record.source,
        "kerma_reason": record.reason,
        "kerma_s": _median_seconds(lambda: extract(data), repeats),
        "pydicom_header_s": None,
        "pydicom_pixels_s": None,
        "transfer_syntax": None,
        "compressed": None,
        "pydicom_error": None,
        "pixels_skipped": None,
    }
    with warnings.catch_warnings():  # pydicom's warnings about odd values of corpus files: not ours
        warnings.simplefilter("ignore")
        try:
            header = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
            meta = getattr(header, "file_meta", None)
            ts = meta.get("TransferSyntaxUID") if meta is not None else None
            ts = UID(str(ts)) if ts else ImplicitVRLittleEndian  # what force=True assumes
            row["transfer_syntax"] = str(ts)
            row["compressed"] = bool(ts.is_compressed)
            row["pydicom_header_s"] = _median_seconds(
                lambda: pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True), repeats)
        except Exception as exc:
            row["pydicom_error"] = f"{type(exc).__name__}: {exc}"
            return row
        if row["compressed"]:
            row["pixels_skipped"] = "compressed pixels"
            return row
        missing = _numpy_missing()
        if missing:
            row["pixels_skipped"] = missing
            return row

        def full():
            return pydicom.dcmread(io.BytesIO(data), force=True).pixel_array
        try:
            full()
        except Exception as exc:  # no pixel data, or pixels pydicom cannot decode
            text = str(exc)
            row["pixels_skipped"] = ("no pixel data element" if "no 'Pixel Data'" in text
                                     else f"pydicom: {type(exc).__name__}: {text[:100]}")
            return row
        row["pydicom_pixels_s"] = _median_seconds(full, pixel_repeats)
    return row


def _ratios(row: dict) -> dict:
    row["ratio_header"] = row["kerma_s"] / row["pydicom_header_s"] if row["pydicom_header_s"] else None
    row["ratio_pixels"] = row["kerma_s"] / row["pydicom_pixels_s"] if row["pydicom_pixels_s"] else None
    return row


def header_reads(synthetic: bytes, images: list[Path], repeats: int, pixel_repeats: int, say=print) -> dict:
    """(e): the synthetic 512x512 CT slice, then every corpus image; per-file medians, then medians over files."""
    synthetic_row = _ratios(time_file("synthetic CT slice 512x512 (bench/ctseries.py)", synthetic, repeats, pixel_repeats))
    rows = []
    for path in images:
        rows.append(_ratios(time_file(str(path.relative_to(CORPUS)), path.read_bytes(), repeats, pixel_repeats)))
    with_pixels = [r for r in rows if r["pydicom_pixels_s"] is not None]
    headers = [r for r in rows if r["pydicom_header_s"] is not None]
    summary = {
        "repeats": repeats,
        "pixel_repeats": pixel_repeats,
        "numpy_missing": _numpy_missing(),
        "synthetic": synthetic_row,
        "files": len(rows),
        "files_ok": sum(1 for r in rows if r["kerma_status"] == "ok"),
        "files_pixels_timed": len(with_pixels),
        "kerma_median_s": median([r["kerma_s"] for r in rows]),
        "kerma_ok_median_s": median([r["kerma_s"] for r in rows if r["kerma_status"] == "ok"]),
        "kerma_max": max(({"file": r["file"], "s": r["kerma_s"]} for r in rows), key=lambda x: x["s"], default=None),
        "pydicom_header_median_s": median([r["pydicom_header_s"] for r in headers]),
        "ratio_header_median": median([r["ratio_header"] for r in headers]),
        "ratio_header_max": max((r["ratio_header"] for r in headers), default=None),
        "kerma_median_uncompressed_s": median([r["kerma_s"] for r in with_pixels]),
        "pydicom_pixels_median_s": median([r["pydicom_pixels_s"] for r in with_pixels]),
        "ratio_pixels_median": median([r["ratio_pixels"] for r in with_pixels]),
        "kerma_total_s": sum(r["kerma_s"] for r in rows),
        "pydicom_header_total_s": sum(r["pydicom_header_s"] for r in headers),
        "rows": rows,
    }
    s = synthetic_row
    say(f"  synthetic slice: kerma {s['kerma_s'] * 1000:.2f} ms, pydicom header {s['pydicom_header_s'] * 1000:.2f} ms"
        + (f", full + pixels {s['pydicom_pixels_s'] * 1000:.2f} ms" if s["pydicom_pixels_s"] else ""))
    say(f"  {len(rows)} corpus images: kerma median {summary['kerma_median_s'] * 1000:.2f} ms, "
        f"pydicom header median {summary['pydicom_header_median_s'] * 1000:.2f} ms")
    return summary
