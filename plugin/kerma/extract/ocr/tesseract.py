"""The general engine: tesseract (Debian's ``tesseract-ocr``, through pytesseract) for screens whose font Kerma lacks.

Two reads per screen: the whole screen as a block of text (words, their boxes and confidences), then every word
holding a digit again, cut out and stacked into one image read with only the characters numbers use.  A number
counts as sure only when both reads give the same characters and tesseract's confidence is high; otherwise the
word carries a doubt that the parser turns into ``needs_review``.  Two tesseract processes per screen, whatever
its number of values.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace

import numpy as np
from PIL import Image

from .pixels import dark_text, ink
from .text import Line, Word, word_from_text

TEXT_HEIGHT_PX = 36        # tesseract reads best with capitals about 30-40 px high: screens are scaled to that
PAGE_CONFIG = "--psm 6"    # one uniform block of text: the screen's lines in order
NUMBER_CHARS = "0123456789.-SIL"  # what numbers, scan ranges (S/I) and phantom letters (L/S) are written with
NUMBER_CONFIG = f"--psm 6 -c tessedit_char_whitelist={NUMBER_CHARS}"
SLOT_GAP_PX = 24           # white rows between the stacked number crops
SECOND_SCALE = 1.5         # the second read's crops are enlarged again by this factor


class TesseractMissing(RuntimeError):
    """pytesseract or the tesseract binary is not installed."""


def available() -> bool:
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return False
    return shutil.which("tesseract") is not None


def _scale(grey: np.ndarray) -> float:
    rows = ink(grey).any(axis=1)
    heights, run = [], 0
    for r in rows.tolist() + [False]:
        if r:
            run += 1
        elif run:
            heights.append(run)
            run = 0
    height = float(np.median(heights)) if heights else TEXT_HEIGHT_PX
    return max(1.0, TEXT_HEIGHT_PX / max(height, 1.0))


def read_text(grey: np.ndarray) -> tuple[Line, ...]:
    """The lines of one screen frame, numbers checked by a second read."""
    if not available():
        raise TesseractMissing("tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-eng; pip: pytesseract)")
    import pytesseract

    # one thread per tesseract: the OCR worker runs one screen per core, and OpenMP threads on a busy machine only
    # contend (measured: half the time per screen with 1 thread under load)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    factor = _scale(grey)
    image = Image.fromarray(dark_text(grey))
    if factor > 1:
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.LANCZOS)
    data = pytesseract.image_to_data(image, config=PAGE_CONFIG, output_type=pytesseract.Output.DICT)
    grouped: dict[tuple[int, int, int], list[tuple[Word, tuple[int, int, int, int]]]] = {}
    tops: dict[tuple[int, int, int], int] = {}
    for i, text in enumerate(data["text"]):
        text = text.strip()
        if not text:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        left, top, width, height = (data[k][i] for k in ("left", "top", "width", "height"))
        word = word_from_text(text, int(left / factor), int((left + width) / factor), max(0.0, float(data["conf"][i])) / 100)
        grouped.setdefault(key, []).append((word, (left, top, width, height)))
        tops[key] = min(tops.get(key, top), top)
    checked = _second_read(image, [entry for entries in grouped.values() for entry in entries])
    lines = []
    for key in sorted(grouped, key=lambda k: tops[k]):
        words = tuple(checked.get(id(w), w) for w, _ in grouped[key])
        lines.append(Line(words, int(tops[key] / factor)))
    return tuple(lines)


def _binary(image: Image.Image) -> Image.Image:
    """Black text on white, cut at the mean of the darkest and lightest grey of the crop."""
    low, high = image.getextrema()
    cut = (low + high) / 2
    return image.point(lambda v: 0 if v < cut else 255)


def _second_read(image: Image.Image, entries: list[tuple[Word, tuple[int, int, int, int]]]) -> dict[int, Word]:
    """Read every word holding a digit again, alone, with only number characters: id(word) -> checked word."""
    import pytesseract

    numeric = [(w, box) for w, box in entries if any(c.isdigit() for c in w.text)]
    if not numeric:
        return {}
    pad = 6
    # the second read sees other pixels than the first: each crop enlarged again and cut to black and white
    crops = [_binary(image.crop((l - pad, t - pad, l + w + pad, t + h + pad)).resize(
        (round((w + 2 * pad) * SECOND_SCALE), round((h + 2 * pad) * SECOND_SCALE)), Image.LANCZOS))
        for _, (l, t, w, h) in numeric]
    width = max(c.width for c in crops) + 2 * pad
    slot = max(c.height for c in crops) + SLOT_GAP_PX
    sheet = Image.new("L", (width, slot * len(crops) + SLOT_GAP_PX), 255)
    for i, crop in enumerate(crops):
        sheet.paste(crop, (pad, SLOT_GAP_PX + i * slot))
    data = pytesseract.image_to_data(sheet, config=NUMBER_CONFIG, output_type=pytesseract.Output.DICT)
    again: dict[int, list[str]] = {}
    for i, text in enumerate(data["text"]):
        if text.strip():
            centre = data["top"][i] + data["height"][i] / 2 - SLOT_GAP_PX
            again.setdefault(int(centre // slot), []).append(text.strip())
    out = {}
    for i, (word, _) in enumerate(numeric):
        second = "".join(again.get(i, []))
        if second != word.text:
            doubt = f"two reads disagree ('{word.text}' / '{second or 'nothing'}')"
            out[id(word)] = replace(word_from_text(word.text, word.x0, word.x1, 0.0), doubt=doubt)
    return out
