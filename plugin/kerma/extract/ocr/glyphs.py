"""The exact engine: a screen's text read by matching the vendor's own font, glyph by glyph, pixel for pixel.

Dose screens are rendered by the scanner's console in a fixed bitmap font and saved without loss, so a
character on the screen is bit-for-bit the glyph of that font (CT-Dose-OCR's observation; its glyph sets ship
in ``glyphs/``, see the NOTICE there).  Reading is therefore not a guess: each text line is tiled with glyph
boxes that match exactly, and the tiling is a shortest path over the line's pixel columns (a column of ink that
no glyph explains costs 1).  Where two tilings explain a line equally well (two glyphs drawn alike, or
``rn`` tiling like ``m``), the characters involved carry both readings and a lower confidence, so that a
number is never taken from an ambiguous reading.

Pure numpy; no state beyond the cached fonts.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from .text import Char, Line, Word

GLYPH_DIR = Path(__file__).with_name("glyphs")
# file names of the glyph sets (CT-Dose-OCR's convention, see NOTICE): a.png is "a", a_cap.png is "A"
_NAMED = {
    "dot": ".", "dash": "-", "colon": ":", "slash": "/", "plus": "+", "comma": ",", "percent": "%", "star": "*",
    "underscore": "_", "pound_sign": "#", "paren_open": "(", "paren_close": ")", "square_bracket_open": "[",
    "square_bracket_close": "]", "bracket_open": "<", "bracket_close": ">",
}
_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)
EXACT = 1.0       # confidence of a character only one glyph explains
AMBIGUOUS = 0.5   # two tilings of equal cost read it differently
UNKNOWN = 0.0     # ink that no glyph of the font explains


@dataclass(frozen=True)
class Glyph:
    """One bitmap of a font and every character it stands for (digits first, so ``0``/``O`` reads ``0``)."""

    chars: str
    codes: tuple[int, ...]  # one integer per pixel column: bit r set where row r is ink

    @property
    def width(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
class Font:
    """A vendor's screen font: glyphs of one height, and the gap (pixels) that reads as a space."""

    name: str
    vendor: str
    height: int
    space: int
    glyphs: tuple[Glyph, ...]

    def by_width(self) -> dict[int, tuple[np.ndarray, tuple[Glyph, ...]]]:
        return _index(self)


def char_of(stem: str) -> str:
    """The character a glyph file stands for, from its name without ``.png``."""
    if len(stem) == 1:
        return stem
    if stem.endswith("_cap") and len(stem) == 5:
        return stem[0].upper()
    try:
        return _NAMED[stem]
    except KeyError:
        raise ValueError(f"glyph file name {stem!r} names no character") from None


def font_table() -> dict[str, tuple[str, int, int]]:
    """``fonts.csv``: font name -> (vendor, glyph height, space width)."""
    with open(GLYPH_DIR / "fonts.csv", newline="", encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {r["font"]: (r["vendor"], int(r["height_px"]), int(r["space_px"])) for r in rows}


@lru_cache(maxsize=None)
def load_font(name: str) -> Font:
    """The glyph set ``glyphs/<name>/`` (cached: fonts are read once per process)."""
    vendor, height, space = font_table()[name]
    bitmaps: dict[bytes, list[str]] = {}
    shapes: dict[bytes, np.ndarray] = {}
    for path in sorted((GLYPH_DIR / name).glob("*.png")):
        with Image.open(path) as im:
            ink = np.asarray(im.convert("L")) > 127
        if ink.shape[0] < height:  # a glyph cut shorter than its font is top-aligned
            ink = np.vstack([ink, np.zeros((height - ink.shape[0], ink.shape[1]), bool)])
        key = ink.tobytes() + bytes([ink.shape[1]])
        bitmaps.setdefault(key, []).append(char_of(path.stem))
        shapes[key] = ink
    glyphs = []
    for key, chars in bitmaps.items():
        ordered = sorted(chars, key=lambda c: (not c.isdigit(), c))
        glyphs.append(Glyph("".join(ordered), column_codes(shapes[key])))
    return Font(name, vendor, height, space, tuple(glyphs))


def column_codes(ink: np.ndarray) -> tuple[int, ...]:
    """Each pixel column of a bitmap (rows top to bottom) as one integer."""
    return tuple(int(v) for v in _codes(ink))


def _codes(ink: np.ndarray) -> np.ndarray:
    weights = np.left_shift(np.uint64(1), np.arange(ink.shape[0], dtype=np.uint64))
    return (ink.astype(np.uint64) * weights[:, None]).sum(axis=0, dtype=np.uint64)


@lru_cache(maxsize=None)
def _index(font: Font) -> dict[int, tuple[np.ndarray, tuple[Glyph, ...]]]:
    out: dict[int, list[Glyph]] = {}
    for g in font.glyphs:
        out.setdefault(g.width, []).append(g)
    index = {}
    for w, gs in out.items():
        hashes = np.array([_hash(np.array(g.codes, np.uint64)) for g in gs], np.uint64)
        order = np.argsort(hashes)
        index[w] = (hashes[order], tuple(gs[i] for i in order))
    return index


def _hash(codes: np.ndarray) -> np.uint64:
    powers, _ = _powers(codes.shape[-1])
    with np.errstate(over="ignore"):
        return (codes * powers).sum(axis=-1, dtype=np.uint64)


@lru_cache(maxsize=64)
def _powers(count: int) -> tuple[np.ndarray, np.ndarray]:
    """base**k and base**-k modulo 2**64 for k < count."""
    inverse_base = np.uint64(pow(int(_HASH_BASE), -1, 1 << 64))
    out = np.ones(count, np.uint64)
    inv = np.ones(count, np.uint64)
    with np.errstate(over="ignore"):
        for k in range(1, count):
            out[k] = out[k - 1] * _HASH_BASE
            inv[k] = inv[k - 1] * inverse_base
    return out, inv


# --- reading ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Box:
    x0: int
    x1: int
    glyph: Glyph | None  # None: ink no glyph explains


def matches(codes: np.ndarray, font: Font) -> dict[int, list[Glyph]]:
    """Every glyph whose columns equal the line's columns at x: x -> glyphs.

    Window hashes come from one prefix sum (a polynomial hash modulo 2**64 with an odd base, whose powers are
    invertible), so each glyph width costs two array operations; hash hits are confirmed column by column.
    """
    found: dict[int, list[Glyph]] = {}
    n = codes.shape[0]
    powers, inverse = _powers(n + 1)
    with np.errstate(over="ignore"):
        prefix = np.concatenate([np.zeros(1, np.uint64), np.cumsum(codes * powers[:n], dtype=np.uint64)])
        for width, (hashes, glyphs) in font.by_width().items():
            if width > n:
                continue
            windows = (prefix[width:] - prefix[:-width]) * inverse[: n - width + 1]
            at = np.minimum(np.searchsorted(hashes, windows), hashes.shape[0] - 1)
            hits = np.nonzero(hashes[at] == windows)[0]
            for x in hits.tolist():
                window = tuple(int(v) for v in codes[x : x + width])
                for g in glyphs:
                    if g.codes == window:
                        found.setdefault(x, []).append(g)
    return found


def _tile(codes: np.ndarray, found: dict[int, list[Glyph]]) -> tuple[list[_Box], set[int], int]:
    """The cheapest tiling of the columns: the chosen boxes, the x of boxes another equal tiling reads otherwise, cost.

    Transitions from column x: a glyph matching at x (free), a blank column (free), a column of ink no glyph
    explains (cost 1).
    """
    n = codes.shape[0]
    ink = (codes != 0).tolist()
    inf = n + 1
    rest = [inf] * (n + 1)  # cheapest cost from x to the end
    rest[n] = 0
    for x in range(n - 1, -1, -1):
        best = rest[x + 1] + ink[x]
        for g in found.get(x, ()):
            if rest[x + g.width] < best:
                best = rest[x + g.width]
        rest[x] = best
    before = [inf] * (n + 1)  # cheapest cost from the start to x
    before[0] = 0
    for x in range(n):
        here = before[x]
        if here + ink[x] < before[x + 1]:
            before[x + 1] = here + ink[x]
        for g in found.get(x, ()):
            if here < before[x + g.width]:
                before[x + g.width] = here
    total = rest[0]
    # glyph boxes and unexplained ink columns lying on some cheapest tiling
    optimal: list[tuple[int, int, Glyph | None]] = []
    for x in range(n):
        if before[x] + ink[x] + rest[x + 1] == total and ink[x]:
            optimal.append((x, x + 1, None))
        for g in found.get(x, ()):
            if before[x] + rest[x + g.width] == total:
                optimal.append((x, x + g.width, g))
    # one cheapest tiling, glyphs preferred (the widest first)
    chosen: list[_Box] = []
    x = 0
    while x < n:
        glyph = max((g for g in found.get(x, ()) if rest[x + g.width] == rest[x]), key=lambda g: g.width, default=None)
        if glyph is not None:
            chosen.append(_Box(x, x + glyph.width, glyph))
            x += glyph.width
            continue
        if ink[x]:
            chosen.append(_Box(x, x + 1, None))
        x += 1
    disputed = set()
    spans = [(x0, x1, g) for x0, x1, g in optimal]
    for box in chosen:
        for x0, x1, g in spans:
            if x0 < box.x1 and box.x0 < x1 and (x0, x1, g) != (box.x0, box.x1, box.glyph):
                disputed.add(box.x0)
                break
    return chosen, disputed, total


def read_line(codes: np.ndarray, font: Font, found: dict[int, list[Glyph]]) -> tuple[tuple[Word, ...], int]:
    """The words of one line (its column codes in ``font``'s box, the glyphs ``matches`` found there) and the count
    of ink columns left unexplained."""
    boxes, disputed, cost = _tile(codes, found)
    words: list[Word] = []
    current: list[Char] = []
    start = end = 0
    for box in _merge_unknown(boxes):
        if current and box.x0 - end >= font.space:
            words.append(Word(tuple(current), start, end))
            current = []
        if not current:
            start = box.x0
        if box.glyph is None:
            current.append(Char("?", "?", UNKNOWN))
        else:
            sure = box.x0 not in disputed
            current.append(Char(box.glyph.chars[0], box.glyph.chars, EXACT if sure else AMBIGUOUS))
        end = box.x1
    if current:
        words.append(Word(tuple(current), start, end))
    return tuple(words), cost


def _merge_unknown(boxes: list[_Box]) -> list[_Box]:
    out: list[_Box] = []
    for box in boxes:
        if box.glyph is None and out and out[-1].glyph is None and out[-1].x1 == box.x0:
            out[-1] = _Box(out[-1].x0, box.x1, None)
        else:
            out.append(box)
    return out


@dataclass(frozen=True)
class GlyphReading:
    """What the exact engine read: lines, the font, and how much ink no glyph explained."""

    lines: tuple[Line, ...]
    font: str
    unexplained_columns: int
    ink_columns: int


def read_text(ink: np.ndarray, fonts: tuple[Font, ...], give_up_below: float = 0.0) -> GlyphReading:
    """Read every text line of a binary screen (True = ink) with the best-fitting of ``fonts`` per line.

    Lines are found as bands of rows with ink; each band is read in the box of each font's height that covers
    it, at every vertical offset that fits, and the reading that leaves the least ink unexplained wins.  Reading
    stops early (a partial reading) once less than ``give_up_below`` of the ink read so far is explained: the
    screen is not in these fonts.
    """
    tallest = max(f.height for f in fonts)
    padded = np.vstack([np.zeros((tallest, ink.shape[1]), bool), ink, np.zeros((tallest, ink.shape[1]), bool)])
    rows = padded.any(axis=1)
    lines: list[Line] = []
    unexplained = ink_columns = 0
    used: dict[str, int] = {}
    offsets: dict[str, int] = {}  # font -> rows between a box's top and the first ink row of the last line read
    last_font = fonts[0].name
    y = 0
    height = padded.shape[0]
    while y < height:
        if not rows[y]:
            y += 1
            continue
        bottom = y
        while bottom + 1 < height and rows[bottom + 1]:
            bottom += 1
        best = None
        for font in sorted(fonts, key=lambda f: f.name != last_font):
            # the offset that fitted the last line first, then offsets whose box holds the whole band (the usual
            # case), then those that cut it
            lowest = max(0, y - font.height + 1)
            fitting = [t for t in range(y, lowest - 1, -1) if t >= bottom - font.height + 1]
            others = [t for t in range(y, lowest - 1, -1) if t not in fitting]
            remembered = [y - offsets[font.name]] if font.name in offsets and y - offsets[font.name] >= lowest else []
            for top in dict.fromkeys([*remembered, *fitting, *others]):
                box = padded[top : top + font.height]
                if box[: y - top].any():
                    continue  # the box would cut into ink above this band
                codes = _codes(box)
                found = matches(codes, font)
                score = _coverage(codes, found)
                if best is None or score > best[0]:
                    best = (score, font, top, codes, found)
                if score == np.count_nonzero(codes):
                    break
            if best is not None and best[0] == np.count_nonzero(best[3]):
                break
        _, font, top, codes, found = best
        offsets[font.name] = y - top
        last_font = font.name
        words, cost = read_line(codes, font, found)
        ink_here = int(np.count_nonzero(codes))
        ink_columns += ink_here
        unexplained += cost
        if words:
            lines.append(Line(words, top - tallest))
            used[font.name] = used.get(font.name, 0) + ink_here - cost
        y = top + font.height
        if ink_columns - unexplained < give_up_below * ink_columns:
            break
    font_name = max(used, key=used.get) if used else fonts[0].name
    return GlyphReading(tuple(lines), font_name, unexplained, ink_columns)


def _coverage(codes: np.ndarray, found: dict[int, list[Glyph]]) -> int:
    """Ink columns covered by some exact glyph match (a fast score to choose a line's font and offset)."""
    covered = np.zeros(codes.shape[0], bool)
    for x, glyphs in found.items():
        covered[x : x + max(g.width for g in glyphs)] = True
    return int(np.count_nonzero(covered & (codes != 0)))
