"""(p) the ingestion ratio of (a) with dose screens in the batch: C-STORE rate, Orthanc alone vs Orthanc + Kerma.

The batch is (a)'s (CT images and RDSRs, shuffled) with generated CT dose screens sent among them
(``tests/dose_screens.py``): pixel-exact renders in the vendors' screen fonts (the exact glyph engine) and, one in
``tesseract_every``, an ordinary-font render (tesseract). Kerma recognises them from their headers on the ingest path
and reads them in its OCR process; the C-STORE ratio says whether that costs Orthanc's ingestion anything. After the
end-to-end time of (a) (every ledger row written), the check waits until the OCR queue is empty and reports when.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def screen_files(folder: Path, count: int, tesseract_every: int = 5, seed: int = 0) -> list[Path]:
    """``count`` dose screens as Secondary Capture files, each its own study; what each shows is random (seeded)."""
    from dose_screens import draw_exam, render_font, render_glyphs, secondary_capture
    from kerma.extract.ocr.layouts import layouts

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"bench-p/{seed}")
    cases = [(layout, font) for layout in layouts() for font in layout.fonts]
    paths = []
    for i in range(count):
        layout, font = cases[i % len(cases)]
        exam = draw_exam(layout, rng, rng.randint(2, 8))
        pixels = render_font(exam, size=15) if tesseract_every and i % tesseract_every == tesseract_every - 1 \
            else render_glyphs(exam, font)
        path = folder / f"screen-{i:04d}.dcm"
        path.write_bytes(secondary_capture(pixels, manufacturer=layout.vendor, seed=seed * 100_000 + i))
        paths.append(path)
    return paths


def interleaved(batch: list[Path], screens: list[Path], seed: int = 0) -> list[Path]:
    """The screens sent at random places among the batch (send order)."""
    out = list(batch)
    rng = random.Random(seed)
    for screen in screens:
        out.insert(rng.randint(0, len(out)), screen)
    return out


def ocr_check(n_screens: int, timeout: float = 600.0):
    """The check of a Kerma run: waits until no screen is queued; how long after the end-to-end time, the states."""
    def check(session, url) -> dict:
        started = time.perf_counter()
        while True:
            health = session.get(url + "/kerma/api/health", timeout=10).json()
            screens = health["counts"]["dose_screens"]
            if not screens.get("queued") and sum(screens.values()) >= n_screens:
                break
            if time.perf_counter() - started > timeout:
                return {"check_ok": False, "check_text": f"OCR queue not empty after {timeout:.0f} s: {screens}"}
            time.sleep(0.2)
        waited = time.perf_counter() - started
        read = screens.get("recorded", 0) + screens.get("needs_review", 0)
        return {"check_ok": read == n_screens, "dose_objects": health["counts"]["dose_objects"],
                "ocr_states": screens, "ocr_after_e2e_s": waited,
                "check_text": f"OCR queue empty {waited:.1f} s later: {screens}"}
    return check
