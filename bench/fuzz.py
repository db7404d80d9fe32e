"""(f) extract() on mutated corpus objects: outcomes, time, and anything that escaped (exceptions, non-finite numbers).

The mutants are those of the CI fuzz test (tests/dicom_mutants.py), many more of them, from a seed of your choice.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from common import CORPUS, median, percentile

SECONDS_PER_OBJECT = 2.0  # the bound for one object


def run(count: int, seed: int, workroot: Path, say=print) -> dict:
    from corpus import manifest  # tests/corpus.py
    from dicom_mutants import Mutator, non_finite_numbers
    from kerma.extract import extract

    seeds = [CORPUS / row["path"] for row in manifest() if not row["sop_class"].startswith("HL7")]
    failures_dir = workroot / "fuzz-failures"
    mutator = Mutator(seeds, seed)
    statuses, by_kind, escaped = Counter(), Counter(), Counter()
    wall, cpu, slowest, failures = [], [], [], []
    non_finite = guard = 0
    started = time.perf_counter()
    for index, mutant in enumerate(mutator.mutants(count)):
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            record = extract(mutant.data)
        except Exception as exc:  # what the bench is here to count
            escaped[type(exc).__name__] += 1
            failures.append(_keep(failures_dir, index, mutant, f"raised {type(exc).__name__}: {exc}"))
            continue
        w, c = time.perf_counter() - t0, time.thread_time() - c0
        wall.append(w)
        cpu.append(c)
        slowest.append((c, w, mutant.kind, mutant.seed))
        slowest = sorted(slowest, reverse=True)[:5]
        status = record.status
        statuses[status] += 1
        by_kind[(mutant.kind, status)] += 1
        found = non_finite_numbers(record.as_dict())
        if found:
            non_finite += 1
            failures.append(_keep(failures_dir, index, mutant, f"non-finite {found}"))
        if (record.reason or "").startswith("extraction failed"):
            guard += 1
            failures.append(_keep(failures_dir, index, mutant, record.reason))
        if (index + 1) % 10_000 == 0:
            say(f"(f) {index + 1} mutants, {time.perf_counter() - started:.0f} s, {dict(statuses)}, "
                f"exceptions {sum(escaped.values())}")
    return {
        "mutants": count,
        "seed": seed,
        "seeds": len(seeds),
        "statuses": dict(statuses),
        "by_kind": {f"{k}/{s}": n for (k, s), n in sorted(by_kind.items())},
        "exceptions": sum(escaped.values()),
        "exception_types": dict(escaped),
        "non_finite_records": non_finite,
        "last_resort_guard": guard,
        "cpu_max_s": max(cpu, default=None),
        "wall_max_s": max(wall, default=None),
        "cpu_median_s": median(cpu),
        "cpu_p99_s": percentile(cpu, 99),
        "over_bound": sum(c > SECONDS_PER_OBJECT for c in cpu),
        "slowest": [{"cpu_s": c, "wall_s": w, "kind": k, "seed": s} for c, w, k, s in slowest],
        "failures": failures[:50],
        "total_s": time.perf_counter() - started,
    }


def _keep(folder: Path, index: int, mutant, why: str) -> dict:
    """Write a failing mutant to ``folder`` (kept with --keep) so that it can be replayed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{index:07d}-{mutant.kind}-{mutant.seed}.dcm"
    path.write_bytes(mutant.data)
    return {"index": index, "kind": mutant.kind, "seed": mutant.seed, "why": why[:300], "file": str(path)}


def show(f: dict) -> None:
    s = f["statuses"]
    print(f"\n(f) extract() on {f['mutants']:,} mutants of {f['seeds']} corpus objects (seed {f['seed']}), "
          f"{f['total_s']:.0f} s in all")
    print(f"    outcomes: ok {s.get('ok', 0):,}, ignored {s.get('ignored', 0):,}, error {s.get('error', 0):,}")
    print(f"    exceptions out of extract: {f['exceptions']} {f['exception_types'] or ''}; records with a non-finite "
          f"number: {f['non_finite_records']}; errors from the last-resort guard: {f['last_resort_guard']}")
    print(f"    time per object (CPU of the thread): median {f['cpu_median_s'] * 1000:.1f} ms, p99 "
          f"{f['cpu_p99_s'] * 1000:.0f} ms, max {f['cpu_max_s']:.2f} s (wall max {f['wall_max_s']:.2f} s); "
          f"over {SECONDS_PER_OBJECT:g} s: {f['over_bound']}")
    print("    slowest: " + ", ".join(f"{x['kind']} of {x['seed']} {x['cpu_s']:.2f} s" for x in f["slowest"]))
    kinds = sorted({k.split("/")[0] for k in f["by_kind"]})
    print(f"    {'damage':22s} {'ok':>7s} {'ignored':>8s} {'error':>7s}")
    for kind in kinds:
        row = [f["by_kind"].get(f"{kind}/{status}", 0) for status in ("ok", "ignored", "error")]
        print(f"    {kind:22s} {row[0]:7d} {row[1]:8d} {row[2]:7d}")
    for failure in f["failures"][:10]:
        print(f"    FAILURE {failure['kind']} of {failure['seed']}: {failure['why']} ({failure['file']})")


def target_rows(f: dict, verdict) -> list[tuple[str, str, str, str]]:
    return [
        ("fuzz: no exception out of extract()", str(f["exceptions"]), verdict(f["exceptions"] == 0),
         f"{f['mutants']:,} mutants, seed {f['seed']}"),
        ("fuzz: no non-finite number in a record", str(f["non_finite_records"]), verdict(f["non_finite_records"] == 0), ""),
        (f"fuzz: every object within {SECONDS_PER_OBJECT:g} s", f"max {f['cpu_max_s']:.2f} s",
         verdict(f["over_bound"] == 0), "CPU time of the extracting thread"),
    ]
