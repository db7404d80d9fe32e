"""``run.py --before REV``: (a), (b) and (c) for the code at a git revision beside this working tree's, in one run.

The revision is unpacked with ``git archive`` (plugin, migrations, scripts/make_config.py, orthanc-config: all of it) into
the bench's temp folder; its Orthanc runs that tree's plugin and configuration generator on this checkout's .venv (so
the revision's requirements.lock must pin what this one pins: a difference is said in the output). Before and after
take turns: (a) alone, before, after per round (before and after swapping places each round), (b) one whole latency
run each per round, (c) per file in two resident child processes, one per tree (bench/extractor.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from common import HIGHLIGHT, REPO, median
from extraction import OPENREM
from extractor import Extractor
from ingest import latency, latency_figures


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def unpack(rev: str, into: Path) -> dict:
    """The tree of ``rev`` in ``into``; what it is (commit, date, subject) and whether its pins equal this checkout's."""
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    into.mkdir(parents=True)
    tar = into.with_suffix(".tar")
    _git("archive", "--format=tar", "-o", str(tar), commit)
    subprocess.run(["tar", "-xf", str(tar), "-C", str(into)], check=True)
    tar.unlink()
    pins_differ = (into / "requirements.lock").read_bytes() != (REPO / "requirements.lock").read_bytes()
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", "plugin", "migrations", "scripts"))
    return {"rev": rev, "commit": commit, "tree": str(into), "pins_differ": pins_differ,
            "described": _git("log", "-1", "--format=%h %cd %s", "--date=format:%Y-%m-%d %H:%M", commit)[:110],
            "after": _git("log", "-1", "--format=%h", "HEAD") + (" + uncommitted changes" if dirty else "")}


def expected_ok(tree: Path, paths: list[Path]) -> dict[Path, bool]:
    """Which of ``paths`` the extractor of ``tree`` reads with status ok ((a)'s count of records to wait for)."""
    with Extractor(tree / "plugin") as extractor:
        return {p: extractor.status(p) == "ok" for p in paths}


def latency_pairs(files: list[dict], workroot: Path, pairs: int, tree: Path, say) -> dict:
    """(b): ``pairs`` rounds of one latency run before and one after (in turn first); samples pooled per side."""
    runs = {"kerma": [], "before": []}
    for i in range(pairs):
        for kind in ("before", "kerma") if i % 2 == 0 else ("kerma", "before"):
            say(f"  round {i + 1}/{pairs} {kind}:")
            runs[kind].append(latency(files, workroot, say=say, tree=tree if kind == "before" else REPO))
    pooled = {kind: {**latency_figures([s for r in rs for s in r["samples"]], rs[0]["poll_s"]),
                     "warmup": rs[0]["warmup"], "run_p99_s": [r["p99_s"] for r in rs]}
              for kind, rs in runs.items()}
    return {**pooled["kerma"], "before": pooled["before"], "pairs": pairs}


def extraction_pairs(reports: list[Path], repeats: int, tree: Path, say) -> dict:
    """(c): every report timed warm by the before and the after extractor, file by file, in turn first."""
    rows = []
    with Extractor(tree / "plugin") as before, Extractor(REPO / "plugin") as after:
        say(f"  before imports {before.module}\n  after imports {after.module}")
        for i, path in enumerate(reports):
            sides = (("before", before), ("kerma", after)) if i % 2 == 0 else (("kerma", after), ("before", before))
            seconds = {kind: extractor.seconds(path, repeats) for kind, extractor in sides}
            rows.append({"file": path.name, "bytes": path.stat().st_size, "kerma_s": seconds["kerma"],
                         "before_s": seconds["before"], "ratio": seconds["kerma"] / seconds["before"]})
        modules = {"kerma": after.module, "before": before.module}
    figures = {kind: {"kerma_total_s": sum(r[f"{kind}_s"] for r in rows),
                      "kerma_median_per_file_s": median([r[f"{kind}_s"] for r in rows]), "module": modules[kind]}
               for kind in ("kerma", "before")}
    say(f"  {len(rows)} reports: before {figures['before']['kerma_total_s']:.3f} s, "
        f"after {figures['kerma']['kerma_total_s']:.3f} s in total")
    return {"files": len(rows), "repeats": repeats, **figures["kerma"], "before": figures["before"], "rows": rows,
            "speedup_vs_openrem_total": OPENREM["total_s"] / figures["kerma"]["kerma_total_s"]}


def show(summary: dict) -> None:
    """The side-by-side table: each figure before, after and after/before."""
    b4 = summary["before"]
    print(f"\nBefore and after, side by side in this run (interleaved):\n    before = {b4['described']}\n"
          f"    after  = {b4['after']} (this working tree)")
    if b4["pins_differ"]:
        print("    WARNING: its requirements.lock differs from this checkout's: the before code ran on this .venv's packages")
    print(f"    {'figure':52s} {'before':>10s} {'after':>10s} {'after/before':>12s}")

    def line(name: str, before, after, unit: str = "ms", better: str = "lower") -> None:
        def text(v):
            return "-" if v is None else {"ms": f"{v * 1000:.1f}", "s": f"{v:.3f}", "inst/s": f"{v:.0f}"}.get(unit, f"{v:.2f}")
        ratio = f"{after / before:.2f}" if before and after is not None else "-"
        print(f"    {name:52s} {text(before):>10s} {text(after):>10s} {ratio:>12s}   ({unit}, {better} is better)")

    a = summary.get("a")
    if a:
        p = a["before"]
        print(f"  (a) {a['instances']} instances, {a['runs_per_setup']} round(s) of alone/before/after; "
              f"Orthanc alone {a['alone_rate']:.0f} inst/s")
        line("C-STORE rate, Orthanc + Kerma", p["kerma_rate"], a["kerma_rate"], "inst/s", "higher")
        line("ratio C-STORE Kerma/alone", p["ratio_cstore"], a["ratio_cstore"], "ratio", "higher")
        line("end-to-end (storescu start -> records, lag 0)", p["kerma_e2e_s"], a["kerma_e2e_s"], "s")
        line("  of which: all records", p["kerma_records_s"], a["kerma_records_s"], "s")
        line("ratio end-to-end alone/Kerma", p["ratio_e2e"], a["ratio_e2e"], "ratio", "higher")
        if not (a["all_runs_complete"] and p["all_runs_complete"]):
            print("    WARNING: some (a) runs were incomplete (see 'runs' in the JSON)")
    b = summary.get("b")
    if b:
        p = b["before"]
        print(f"  (b) {b['files']} RDSRs per side ({b['pairs']} run(s) each, pooled), C-STORE response -> study answers")
        for q in ("p50", "p90", "p99"):
            line(f"latency {q}", p[f"{q}_s"], b[f"{q}_s"])
        line("latency max", p["max_s"], b["max_s"])
        big = {kind: [s["latency_s"] for s in side["samples"] if s["source"] == HIGHLIGHT[1] and s["latency_s"]]
               for kind, side in (("before", p), ("kerma", b))}
        if big["kerma"]:
            line(f"  {HIGHLIGHT[1][:30]} (316 events), max", max(big["before"], default=None), max(big["kerma"]))
        print(f"    p99 of each run: before {', '.join(f'{x * 1000:.0f}' for x in p['run_p99_s'])} ms; "
              f"after {', '.join(f'{x * 1000:.0f}' for x in b['run_p99_s'])} ms")
        if b["timeouts"] or p["timeouts"]:
            print(f"    WARNING: never visible: before {p['timeouts']}, after {b['timeouts']}")
    c = summary.get("c")
    if c:
        p = c["before"]
        print(f"  (c) {c['files']} corpus dose reports, extract() warm, median of {c['repeats']}, each side in its own process")
        line("total", p["kerma_total_s"], c["kerma_total_s"], "s")
        line("median per file", p["kerma_median_per_file_s"], c["kerma_median_per_file_s"])
        for r in c["rows"]:
            line(f"  {r['file'][:48]}", r["before_s"], r["kerma_s"])
