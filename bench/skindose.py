"""(k) Peak skin dose and skin dose map per corpus fluoroscopy RDSR, side by side with PySkinDose.

For every corpus dose report the extractor reads as a fluoroscopy / angiography RDSR (modality RF), in this
process, record already extracted (its extraction time is shown apart):

* Kerma: ``kerma.dosimetry.skin.skin_dose`` (PSD + the map array) and ``render_png`` (the map as a PNG), on the
  plane and the cylinder with PySkinDose's example geometry (``pyskindose_defaults=True``) and on the elliptic
  phantom with Kerma's defaults; one warm-up, then the median of ``repeats`` runs, wall and CPU time.
* PySkinDose (the pinned test dependency, when installed): ``pyskindose.main.main(file, settings)`` with its
  example settings in ``calculate_dose`` mode, plane and cylinder, once each (it reads the file itself, builds
  its corrections database in the working folder, and computes), in a temporary working folder. A file it
  refuses shows the exception.

OpenREM's openSkin figure (375 s for a 49-event Canon rotational report, from issue 13; that report is not in
the corpus) is printed for comparison.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import time
from pathlib import Path

TARGET_S = 1.0  # PSD + map (array and PNG) per study
OPENREM_CANON_S = 375.0


def fluoroscopy_reports() -> list[tuple[Path, dict]]:
    from common import dose_reports  # noqa: E402  (bench/common.py)
    from kerma.extract import extract

    found = []
    for path in dose_reports():
        record = extract(path.read_bytes())
        if record.modality == "RF" and record.source == "rdsr":
            found.append((path, record))
    return found


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _timed(fn, repeats: int) -> tuple[object, float, float]:
    """Result of ``fn()`` after a warm-up, median wall and median CPU seconds over ``repeats`` runs."""
    result = fn()
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return result, _median(walls), _median(cpus)


def _pyskindose(path: Path, model: str, workdir: Path) -> dict:
    try:
        import pyskindose
        from pyskindose.main import main as pyskindose_main
        from pyskindose.settings import PyskindoseSettings
    except ImportError as exc:  # the bench still runs without the test dependency
        return {"error": f"PySkinDose not installed ({exc.name})"}
    settings = copy.deepcopy(json.loads((Path(pyskindose.__file__).parent / "settings_example.json").read_text()))
    settings["mode"] = "calculate_dose"
    settings["plot"]["notebook_mode"] = False
    settings["phantom"]["model"] = model
    here = Path.cwd()
    os.chdir(workdir)
    started = time.perf_counter()
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            output = pyskindose_main(file_path=str(path),
                                     settings=PyskindoseSettings(settings=settings, output_format="dict"))
        return {"psd_mGy": float(output["psd"]), "seconds": time.perf_counter() - started}
    except Exception as exc:  # noqa: BLE001 - PySkinDose's refusals are the finding
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:90] if str(exc) else ''}",
                "seconds": time.perf_counter() - started}
    finally:
        os.chdir(here)


def run(args, workroot: Path, say) -> dict:
    from kerma.dosimetry.skin import render_png, skin_dose
    from kerma.extract import extract

    repeats = 3 if args.quick else 7
    reports = fluoroscopy_reports()
    say(f"(k) {len(reports)} corpus fluoroscopy RDSRs: Kerma x{repeats} (warm) per phantom, PySkinDose once per model")
    pyskindose_dir = workroot / "pyskindose"
    pyskindose_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for path, record in reports:
        data = path.read_bytes()
        _, extract_s, _ = _timed(lambda: extract(data), repeats)
        for phantom, defaults in (("plane", True), ("cylinder", True), ("elliptic", False)):
            result, compute_s, compute_cpu = _timed(lambda: skin_dose(record, phantom, pyskindose_defaults=defaults),
                                                    repeats)
            png = workroot / "maps" / f"{path.stem}-{phantom}.png"
            _, png_s, png_cpu = _timed(lambda: render_png(result, png), repeats)
            row = {"file": path.name, "events": len(record.events), "phantom": phantom,
                   "geometry": "PySkinDose example" if defaults else "Kerma defaults",
                   "extract_s": extract_s, "compute_s": compute_s, "compute_cpu_s": compute_cpu,
                   "png_s": png_s, "png_cpu_s": png_cpu, "total_s": compute_s + png_s,
                   "total_cpu_s": compute_cpu + png_cpu, "psd_mGy": result.psd_mGy,
                   "bound_mGy": result.bound_mGy, "mapped": result.count("map"), "bounded": result.count("bound")}
            if defaults:
                row["pyskindose"] = _pyskindose(path, phantom, pyskindose_dir)
            rows.append(row)
            say(f"    {path.name} {phantom}: {row['total_s'] * 1000:.0f} ms, PSD {result.psd_mGy}; PySkinDose "
                f"{row.get('pyskindose', {}).get('psd_mGy', row.get('pyskindose', {}).get('error', '-'))}")
    slowest = max(rows, key=lambda r: r["total_s"]) if rows else None
    return {"repeats": repeats, "files": len(reports), "rows": rows,
            "max_total_s": slowest["total_s"] if slowest else None, "slowest": slowest["file"] if slowest else None,
            "max_total_cpu_s": max((r["total_cpu_s"] for r in rows), default=None), "target_s": TARGET_S,
            "openrem_canon_49_events_s": OPENREM_CANON_S}


def show(k: dict) -> None:
    print(f"\n(k) peak skin dose + map per corpus fluoroscopy RDSR, warm, in-process (median of {k['repeats']}); "
          "PySkinDose 25.1.1 once, its example settings")
    print(f"    {'file':42s} {'ev':>4s} {'phantom':8s} {'map ms':>7s} {'png ms':>7s} {'total':>7s} {'cpu':>6s} "
          f"{'PSD mGy':>9s} {'bound':>8s} | {'PySkinDose':>10s} {'PSD mGy':>9s}")
    for r in k["rows"]:
        p = r.get("pyskindose")
        if p is None:
            theirs = f"{'':>10s} {'':>9s}"
        elif "psd_mGy" in p:
            theirs = f"{p['seconds'] * 1000:8.0f}ms {p['psd_mGy']:9.4g}"
        else:
            theirs = f"refused: {p['error']}"
        psd = "-" if r["psd_mGy"] is None else f"{r['psd_mGy']:.4g}"
        print(f"    {r['file'][:42]:42s} {r['events']:4d} {r['phantom']:8s} {r['compute_s'] * 1000:7.1f} "
              f"{r['png_s'] * 1000:7.1f} {r['total_s'] * 1000:7.1f} {r['total_cpu_s'] * 1000:6.0f} {psd:>9s} "
              f"{r['bound_mGy']:8.3g} | {theirs}")
    print(f"    slowest: {k['slowest']} {k['max_total_s'] * 1000:.0f} ms wall ({k['max_total_cpu_s'] * 1000:.0f} ms CPU at "
          f"most); extraction is apart (kerma extract, shown in the JSON as extract_s)")
    print(f"    OpenREM openSkin (issue 13, another machine): {k['openrem_canon_49_events_s']:.0f} s for a 49-event Canon "
          "rotational report (not in the corpus)")


def target_rows(k: dict, verdict) -> list[tuple[str, str, str, str]]:
    refused = sorted({r["file"] for r in k["rows"] if "error" in (r.get("pyskindose") or {})})
    return [(f"PSD + map per fluoroscopy RDSR < {k['target_s']:g} s", f"{k['max_total_s'] * 1000:.0f} ms",
             verdict(k["max_total_s"] < k["target_s"]),
             f"{k['files']} files x 3 phantoms; slowest {k['slowest']}; PySkinDose refuses {len(refused)} of {k['files']}")]
