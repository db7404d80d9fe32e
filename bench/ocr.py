"""(o) OCR of generated CT dose screens: time per screen for each engine, values right / flagged / wrong.

Screens come from ``tests/dose_screens.py`` (fixed seeds, random layouts, values and series counts 1-12):

* glyph: pixel-exact renders in every layout's real screen fonts, read by ``read_dose_screen`` (the exact engine);
* tesseract: the same kind of examinations in DejaVu Sans Mono at 12-16 px, cycling through four variants
  (as drawn, JPEG quality 60-85, rescaled 0.75-1.4x, rescaled and JPEG), read by ``read_dose_screen`` (the glyph
  engine gives up on them first: its try is part of the time).

Each value the generator drew counts as right (read and ``ok`` with the drawn value), flagged (``needs_review``) or
wrong (``ok`` with another value). Target: wrong = 0 for both engines. In this process, one screen at a time, wall
and CPU time (tesseract runs in child processes: its CPU time is the children's).
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

VARIANTS = ("drawn", "jpeg", "rescaled", "rescaled+jpeg")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _screens(count: int, engine: str, seed: int):
    from dose_screens import degrade, draw_exam, render_font, render_glyphs
    from kerma.extract.ocr.layouts import layouts

    rng = random.Random(f"bench-o/{engine}/{seed}")
    cases = [(layout, font) for layout in layouts() for font in layout.fonts]
    for i in range(count):
        layout, font = cases[i % len(cases)] if engine == "glyph" else (layouts()[i % len(layouts())], None)
        exam = draw_exam(layout, rng, rng.randint(1, 12))
        if engine == "glyph":
            yield layout.name, font, exam, render_glyphs(exam, font)
            continue
        variant = VARIANTS[i % len(VARIANTS)]
        pixels = render_font(exam, size=rng.randint(12, 16))
        if "rescaled" in variant:
            pixels = degrade(pixels, scale=rng.uniform(0.75, 1.4))
        if "jpeg" in variant:
            pixels = degrade(pixels, jpeg_quality=rng.randint(60, 85))
        yield layout.name, variant, exam, pixels


def _measure(engine: str, count: int, say) -> dict:
    from dose_screens import tally
    from kerma.extract.ocr import read_dose_screen

    totals = {"right": 0, "flagged": 0, "wrong": 0}
    by_kind: dict[str, dict[str, int]] = {}
    walls, cpus, failures, wrong_examples = [], [], [], []
    engines_used: dict[str, int] = {}
    for n, (layout, kind, exam, pixels) in enumerate(_screens(count, engine, 1), 1):
        wall, cpu = time.perf_counter(), _cpu()
        result = read_dose_screen(pixels)
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
        engines_used[str(result.engine)] = engines_used.get(str(result.engine), 0) + 1
        if result.layout != layout:
            failures.append(f"{layout}/{kind}: {result.status} {result.reason}")
        counts, wrong = tally(result, exam)
        for key in totals:
            totals[key] += counts[key]
            by_kind.setdefault(kind, dict.fromkeys(totals, 0))[key] += counts[key]
        wrong_examples += [f"{layout}/{kind}: {w}" for w in wrong[:2]]
        if n % 25 == 0:
            say(f"(o) {engine}: {n}/{count} screens, {totals}")
    walls.sort()
    return {
        "screens": count, "counts": totals, "by_kind": by_kind, "engines": engines_used,
        "wall_median_s": walls[len(walls) // 2], "wall_p95_s": walls[int(len(walls) * 0.95) - 1] if walls else None,
        "cpu_mean_s": sum(cpus) / len(cpus), "layout_failures": failures[:20], "layout_failure_count": len(failures),
        "wrong_examples": wrong_examples[:20],
    }


def run(args, workroot: Path, say) -> dict:
    from kerma.extract.ocr.tesseract import available

    glyph_count, tesseract_count = (40, 20) if args.quick else (500, 500)
    if args.ocr_screens:
        glyph_count = tesseract_count = args.ocr_screens
    say(f"(o) {glyph_count} pixel-exact screens (glyph engine), {tesseract_count} ordinary-font screens (tesseract)")
    out = {"glyph": _measure("glyph", glyph_count, say)}
    if available():
        out["tesseract"] = _measure("tesseract", tesseract_count, say)
    else:
        say("(o) tesseract not installed: scripts/setup.sh installs it")
    return out


def show(o: dict) -> None:
    print("\n(o) OCR of generated dose screens, one at a time, in this process")
    print(f"    {'engine':10s} {'screens':>7s} {'median':>9s} {'p95':>9s} {'CPU mean':>9s}   right / flagged / wrong")
    for engine in ("glyph", "tesseract"):
        if engine not in o:
            continue
        r = o[engine]
        c = r["counts"]
        print(f"    {engine:10s} {r['screens']:7d} {r['wall_median_s'] * 1000:7.0f}ms {r['wall_p95_s'] * 1000:7.0f}ms "
              f"{r['cpu_mean_s'] * 1000:7.0f}ms   {c['right']} / {c['flagged']} / {c['wrong']}")
        for kind, k in sorted(r["by_kind"].items()):
            print(f"        {kind:28s} {k['right']} / {k['flagged']} / {k['wrong']}")
        if r["layout_failure_count"]:
            print(f"        layout not found on {r['layout_failure_count']} screens, e.g. {r['layout_failures'][:3]}")
        for example in r["wrong_examples"][:5]:
            print(f"        WRONG {example}")


def target_rows(o: dict, verdict) -> list:
    rows = []
    for engine in ("glyph", "tesseract"):
        if engine in o:
            c = o[engine]["counts"]
            rows.append((f"OCR {engine}: wrong values = 0", str(c["wrong"]), verdict(c["wrong"] == 0),
                         f"{o[engine]['screens']} screens: {c['right']} right, {c['flagged']} flagged"))
    if "glyph" in o:
        c = o["glyph"]["counts"]
        rows.append(("OCR glyph: every value exact (none flagged)", str(c["flagged"]), verdict(c["flagged"] == 0),
                     "pixel-exact renders in the vendors' fonts"))
    return rows
