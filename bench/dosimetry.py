"""(q) The ingest ratio with the dosimetry process on: (a)'s batch plus copies of every corpus fluoroscopy RDSR, stored
into three setups, interleaved: Orthanc alone, Orthanc + Kerma with ``Kerma.Dosimetry`` false, and with it true (the
default: derived doses computed in the dosimetry process). The C-STORE ratio to Orthanc alone of each Kerma setup
says whether the dosimetry process costs ingestion anything; for the "on" runs, a check waits until no study is
due any more (every study's effective dose, SSDE and skin dose computed) and reports when.
"""

from __future__ import annotations

import time
from pathlib import Path

from common import BATCH_RDSRS, CT_IMAGE, median
from ingest import LOG_CONFIG, one_run

SETUPS = (("alone", None), ("dosimetry_off", {"Kerma.Dosimetry": False}), ("dosimetry_on", {"Kerma.Dosimetry": True}))


def fluoroscopy_reports() -> list[Path]:
    """Every corpus dose report the extractor reads as a fluoroscopy / angiography report (modality RF)."""
    from common import dose_reports
    from kerma.extract import extract

    return [p for p in dose_reports() if extract(p.read_bytes()).modality == "RF"]


def derived_check(timeout: float = 900.0):
    """The check of a Kerma run with the dosimetry process: waits until no study is due; how long after lag 0."""
    def check(session, url) -> dict:
        started = time.perf_counter()
        while True:
            state = session.get(url + "/kerma/api/health", timeout=30).json()["dosimetry"]
            if state.get("studies_due") == 0 and state.get("studies_computed"):
                waited = time.perf_counter() - started
                return {"check_ok": not state.get("error"), "derived_after_e2e_s": waited,
                        "studies_computed": state["studies_computed"], "dosimetry_processes": state["processes_started"],
                        "check_text": f"derived doses of {state['studies_computed']} studies done {waited:.1f} s later"}
            if time.perf_counter() - started > timeout:
                return {"check_ok": False, "check_text": f"studies still due after {timeout:.0f} s: {state}"}
            time.sleep(0.5)
    return check


def run(args, workroot: Path, say) -> dict:
    from batch import mixed_batch
    from kerma.extract import extract

    n_ct, n_rdsr, runs = (80, 20, 1) if args.quick else (400, 100, 3)
    runs = args.runs or runs
    fluoro = fluoroscopy_reports()
    n_fluoro = 2 * len(fluoro)  # each corpus fluoroscopy report twice: one new study each
    reports = BATCH_RDSRS + fluoro
    say(f"(q) building {n_ct} CT + {n_rdsr + n_fluoro} RDSR copies ({n_fluoro} of the {len(fluoro)} fluoroscopy reports) ...")
    paths = mixed_batch(workroot / "batch-q", CT_IMAGE, n_ct, reports, n_rdsr + n_fluoro)
    ct_ok = extract(CT_IMAGE.read_bytes()).ok
    rdsr_ok = [extract(p.read_bytes()).ok for p in reports]
    expected_ok = n_ct * ct_ok + sum(rdsr_ok[i % len(rdsr_ok)] for i in range(n_rdsr + n_fluoro))
    log_config = workroot / "storescu-log-q.cfg"
    log_config.write_text(LOG_CONFIG)
    results = []
    for i in range(runs):
        for kind, config in SETUPS:
            r = one_run(kind, paths, expected_ok, workroot, log_config, check=derived_check() if kind == "dosimetry_on" else None,
                        kerma_config=config)
            extra = f", {r['check_text']}" if r.get("check_text") else ""
            e2e = f", lag 0 {r['e2e_s']:.1f} s" if r.get("e2e_s") else ""
            say(f"  run {i + 1}/{runs} {kind:13s}: {r['rate'] or 0:.0f} inst/s in association{e2e}{extra}"
                f"{'' if r['ok'] else '  [INCOMPLETE]'}")
            results.append(r)
    out = {"batch": {"instances": len(paths), "ct": n_ct, "rdsr": n_rdsr, "fluoroscopy": n_fluoro},
           "expected_ok": expected_ok, "runs_per_setup": runs, "runs": results,
           "all_runs_complete": all(r["ok"] for r in results)}
    for kind, _ in SETUPS:
        mine = [r for r in results if r["kind"] == kind]
        out[kind] = {"rate": median([r["rate"] for r in mine if r["rate"]]),
                     "e2e_s": median([r["e2e_s"] for r in mine if r.get("e2e_s")]) if kind != "alone" else None,
                     "wall_s": median([r["wall_s"] for r in mine])}
    alone = out["alone"]["rate"]
    for kind in ("dosimetry_off", "dosimetry_on"):
        out[kind]["ratio_cstore"] = out[kind]["rate"] / alone if alone and out[kind]["rate"] else None
        out[kind]["ratio_e2e"] = out["alone"]["wall_s"] / out[kind]["e2e_s"] if out[kind]["e2e_s"] else None
    on = [r for r in results if r["kind"] == "dosimetry_on"]
    out["derived_after_e2e_median_s"] = median([r["derived_after_e2e_s"] for r in on if r.get("derived_after_e2e_s")])
    return out


def show(q: dict) -> None:
    b = q["batch"]
    print(f"\n(q) C-STORE, one association, {b['instances']} instances ({b['ct']} CT + {b['rdsr']} RDSR + {b['fluoroscopy']} "
          f"fluoroscopy RDSR), median of {q['runs_per_setup']} interleaved run(s) per setup")
    print(f"    Orthanc alone:            {q['alone']['rate'] or 0:.0f} inst/s")
    for kind, name in (("dosimetry_off", "Kerma, dosimetry off"), ("dosimetry_on", "Kerma, dosimetry on")):
        s = q[kind]
        print(f"    {name + ':':25s} {s['rate'] or 0:.0f} inst/s, C-STORE ratio {s['ratio_cstore'] or 0:.2f}, "
              f"end-to-end ratio {s['ratio_e2e'] or 0:.2f}")
    print(f"    derived doses all computed {q['derived_after_e2e_median_s'] or 0:.1f} s after the last record (median)")
    if not q["all_runs_complete"]:
        print("    WARNING: some runs were incomplete (see 'runs' in the JSON)")


def target_rows(q: dict, verdict) -> list[tuple[str, str, str, str]]:
    off, on = q["dosimetry_off"]["ratio_cstore"], q["dosimetry_on"]["ratio_cstore"]
    same = on is not None and off is not None and on >= off - 0.05
    return [("ingestion ratio C-STORE, dosimetry on >= off - 0.05", f"{on or 0:.2f} vs {off or 0:.2f}",
             verdict(same and q["all_runs_complete"]), "derived doses in their own process")]
