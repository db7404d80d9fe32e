"""Generated CT dose screens with their ground truth (no public dose screen with readable text exists).

* :func:`draw_exam` draws an examination for any layout (random series count and values, fixed seed): what the
  scanner would have printed, and the values it stands for (the ground truth).
* :func:`render_glyphs` renders it pixel-exact in a vendor's real screen font (``../shared/corpus/dose-screen-glyphs``,
  read from there, not from the product's copy), as the console does;
* :func:`render_font` renders it with an ordinary font (DejaVu Sans Mono, Debian's fonts-dejavu-core) at the sizes
  and contrast of consoles, and :func:`degrade` makes JPEG-lossy and rescaled variants of any render;
* :func:`secondary_capture` wraps pixels as a Secondary Capture object with highdicom;
* :func:`tally` counts a reading's values right, flagged for review, or wrong against the ground truth.

The layouts come from the product's data files, or any ``Layout`` a test builds (unseen layouts).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kerma.extract.ocr.glyphs import char_of, font_table
from kerma.extract.ocr.layouts import Column, Layout
from kerma.extract.ocr.text import fold

GLYPHS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dose-screen-glyphs"
DEJAVU_MONO = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
# characters a glyph set lacks are drawn as the one the font draws alike (the sets were cut from real screens,
# which showed one bitmap for both; Siemens' set has no '*', drawn as '.'), else in the other case
LOOK_ALIKE = {"l": "I", "I": "l", "1": "l", "O": "0", "0": "O", "*": "."}
PROTOCOLS = ["ThorAbd", "HeadSeq", "Abdomen", "Chest", "Pelvis", "Sinus", "Neck", "Spine", "CTA", "Liver"]
GAP = 3  # spaces between columns


@dataclass
class Exam:
    """What a screen prints (``rows``: column label -> cell text; ``totals``: label -> text) and what it means."""

    layout: Layout
    rows: list[list[str]]
    totals: list[tuple[str, str]]
    events: list[dict]          # ground truth: field -> value (None: printed as absent)
    total_values: dict
    totals_first: bool = False
    title_line: str = ""
    extra: list[str] = field(default_factory=list)


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _round(value: float, decimals: int) -> float:
    return float(_fmt(value, decimals))


def draw_exam(layout: Layout, rng: random.Random, series: int | None = None) -> Exam:
    """A random examination on ``layout``: a scout, then ``series`` (2-9) scans with coherent dose values."""
    count = series if series is not None else rng.randint(2, 9)
    rows, events = [], []
    true_dlp_sum = 0.0
    mas_sum = 0
    for index in range(count):
        scout = index == 0
        cells, truth = [], {}
        length_mm = rng.uniform(100, 700)
        ctdi = rng.uniform(0.8, 60.0)
        overrange = rng.uniform(0, 60)
        dlp_true = ctdi * (length_mm + overrange) / 10
        for column in layout.columns:
            text, values = _cell(column, rng, index, scout, ctdi, dlp_true, length_mm)
            cells.append(text)
            truth.update(values)
        if not scout:
            true_dlp_sum += dlp_true
        mas_sum += truth.get("exposure_mAs") or 0
        rows.append(cells)
        events.append(truth)
    totals, total_values = [], {}
    for total in layout.totals:
        column_of = next((c for c in layout.columns if c.fields[0] == total.field.replace("_total", "")), None)
        if total.field == "ct_dlp_total_mGycm":
            d = total.decimals[0] if total.decimals else 0
            value = _round(true_dlp_sum, d)
            text = _fmt(value, d)
        elif total.field == "exposure_total_mAs":
            summed = any(s.total == total.field for s in layout.sums)
            value = mas_sum if summed else rng.randint(mas_sum + 1, mas_sum + 5000)
            text = str(value)
        else:
            raise ValueError(f"no generator for total {total.field} ({column_of})")
        totals.append((total.label, text + (" " + total.unit if total.unit else "")))
        total_values[total.field] = value
    return Exam(layout, rows, totals, events, total_values, totals_first=rng.random() < 0.5)


def _cell(column: Column, rng, index, scout, ctdi, dlp_true, length_mm) -> tuple[str, dict]:
    name = column.fields[0]
    dose = name in ("ctdivol_mGy", "dlp_mGycm") or column.format == "table_range" or name == "phantom"
    if scout and dose:
        return "-", {f: None for f in column.fields + ((column.suffix_field,) if column.suffix_field else ())}
    if column.format in ("integer", "integer_range") and name == "series_number":
        return str(index + 1), {name: index + 1}
    if column.format == "kv":
        kv = rng.choice([80, 100, 120, 140]) if not scout else 120
        return str(kv), {name: kv}
    if column.format == "integer":
        value = rng.randint(10, 500) if name != "exposure_mAs" else rng.randint(20, 6000)
        return str(value), {name: value}
    if column.format == "word":
        printed = rng.choice(list(column.values)[1:] or list(column.values)) if not scout else list(column.values)[0]
        return printed, {name: column.values[printed]}
    if column.format == "text":
        value = "Topogram" if scout else rng.choice(PROTOCOLS)
        return value, {name: value}
    if column.format == "table_range":
        start = rng.uniform(-300, 300)
        end = start - length_mm
        text = f"{'S' if start >= 0 else 'I'}{abs(start):.3f}-{'S' if end >= 0 else 'I'}{abs(end):.3f}"
        return text, {column.fields[0]: _round(start, 3) if start >= 0 else -_round(abs(start), 3),
                      column.fields[1]: _round(end, 3) if end >= 0 else -_round(abs(end), 3)}
    if column.format == "decimal":
        d = rng.choice(column.decimals or (1,))
        if name == "ctdivol_mGy":
            value = ctdi
        elif name == "dlp_mGycm":
            value = dlp_true
        elif name == "exposure_time_per_rotation_s":
            value = rng.choice([0.28, 0.33, 0.5, 0.75, 1.0])
        else:
            value = rng.choice([0.5, 0.6, 1.2, 1.5, 2.0])
        text = _fmt(value, d)
        truth = {name: float(text)}
        if column.suffix_field:
            letter = rng.choice(list(column.suffixes))
            text += letter
            truth[column.suffix_field] = column.suffixes[letter]
        return text, truth
    raise ValueError(f"no generator for format {column.format}")


# --- text layout -----------------------------------------------------------------------------------------------


def screen_lines(exam: Exam, measure) -> list[list[tuple[int, str]]]:
    """The screen as lines of (x pixel, text) pieces, columns left-aligned; ``measure(text)`` gives a width."""
    layout = exam.layout
    space = measure(" " * GAP)
    widths = []
    for i, column in enumerate(layout.columns):
        texts = [column.label, column.unit] + [row[i] for row in exam.rows]
        widths.append(max(measure(t) for t in texts if t) if any(texts) else 0)
    xs, x = [], 0
    for w in widths:
        xs.append(x)
        x += w + space
    table = [[(xs[i], c.label) for i, c in enumerate(layout.columns) if c.label]]
    if layout.has_units_line:
        table.append([(xs[i], c.unit) for i, c in enumerate(layout.columns) if c.unit])
    table += [[(xs[i], cell) for i, cell in enumerate(row)] for row in exam.rows]
    totals_line: list[tuple[int, str]] = []
    x = 0
    for label, value in exam.totals:
        totals_line.append((x, f"{label} {value}"))
        x += measure(f"{label} {value}") + space * 2
    lines = [[(0, exam.layout.title)], []]
    if exam.totals_first:
        lines += [totals_line, []] + table
    else:
        lines += table + [[], totals_line]
    return lines


# --- rendering -------------------------------------------------------------------------------------------------


class GlyphFont:
    """A glyph set of the shared corpus, drawn as the console draws it."""

    def __init__(self, name: str, char_gap: int = 1):
        vendor, self.height, self.space = font_table()[name]
        self.name = name
        self.gap = char_gap
        self.bitmaps: dict[str, np.ndarray] = {}
        for path in sorted((GLYPHS / name).glob("*.png")):
            ink = np.asarray(Image.open(path).convert("L")) > 127
            if ink.shape[0] < self.height:
                ink = np.vstack([ink, np.zeros((self.height - ink.shape[0], ink.shape[1]), bool)])
            self.bitmaps[char_of(path.stem)] = ink

    def bitmap(self, ch: str) -> np.ndarray:
        for candidate in (ch, LOOK_ALIKE.get(ch, ch), ch.swapcase(), LOOK_ALIKE.get(ch.swapcase(), ch)):
            if candidate in self.bitmaps:
                return self.bitmaps[candidate]
        raise KeyError(f"font {self.name} cannot draw {ch!r}")

    def measure(self, text: str) -> int:
        width = 0
        for i, ch in enumerate(text):
            if ch == " ":
                width += self.space
            else:
                width += self.bitmap(ch).shape[1] + (self.gap if i + 1 < len(text) and text[i + 1] != " " else 0)
        return width

    def draw(self, canvas: np.ndarray, x: int, y: int, text: str) -> None:
        for i, ch in enumerate(text):
            if ch == " ":
                x += self.space
                continue
            bm = self.bitmap(ch)
            canvas[y : y + self.height, x : x + bm.shape[1]] |= bm
            x += bm.shape[1] + self.gap


def render_glyphs(exam: Exam, font: str, foreground: int = 255, background: int = 0, margin: int = 16) -> np.ndarray:
    """The screen pixel-exact in a vendor font (uint8, text ``foreground`` on ``background``)."""
    glyph = GlyphFont(font)
    lines = screen_lines(exam, glyph.measure)
    pitch = glyph.height + 4
    width = max(512, margin * 2 + max((x + glyph.measure(t) for line in lines for x, t in line), default=0))
    height = max(512, margin * 2 + pitch * len(lines))
    canvas = np.zeros((height, width), bool)
    for row, line in enumerate(lines):
        for x, text in line:
            glyph.draw(canvas, margin + x, margin + row * pitch, text)
    return np.where(canvas, np.uint8(foreground), np.uint8(background))


def render_font(exam: Exam, size: int = 14, foreground: int = 235, background: int = 20, margin: int = 16) -> np.ndarray:
    """The screen in an ordinary monospace font (anti-aliased), light text on a dark console background."""
    font = ImageFont.truetype(str(DEJAVU_MONO), size)
    lines = screen_lines(exam, lambda t: int(round(font.getlength(t))))
    pitch = int(size * 1.5)
    width = max(512, margin * 2 + max((x + int(font.getlength(t)) for line in lines for x, t in line), default=0))
    height = max(512, margin * 2 + pitch * len(lines))
    image = Image.new("L", (width, height), background)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        for x, text in line:
            draw.text((margin + x, margin + row * pitch), text, font=font, fill=foreground)
    return np.asarray(image)


def degrade(pixels: np.ndarray, *, jpeg_quality: int | None = None, scale: float | None = None) -> np.ndarray:
    """A lossy copy: rescaled (bilinear, as a PACS or a screen grabber resamples) and/or JPEG-compressed."""
    image = Image.fromarray(pixels)
    if scale:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
    if jpeg_quality:
        buffer = BytesIO()
        image.save(buffer, format="JPEG", quality=jpeg_quality)
        image = Image.open(BytesIO(buffer.getvalue())).convert("L")
    return np.asarray(image)


def secondary_capture(pixels: np.ndarray, *, manufacturer: str = "", series_description: str = "Dose Report",
                      series_number: int = 999, seed: int = 0, jpeg: bool = False) -> bytes:
    """Pixels as a Secondary Capture Part 10 file (highdicom), optionally JPEG baseline encoded."""
    import highdicom as hd
    from pydicom.uid import JPEGBaseline8Bit, ExplicitVRLittleEndian, generate_uid

    rng = random.Random(seed)
    prefix = "1.2.826.0.1.3680043.10.1234."
    sc = hd.sc.SCImage(
        pixel_array=pixels,
        photometric_interpretation="MONOCHROME2",
        bits_allocated=8,
        coordinate_system="PATIENT",
        patient_orientation=("L", "P"),
        study_instance_uid=generate_uid(prefix, [str(seed), "study"]),
        series_instance_uid=generate_uid(prefix, [str(seed), "series"]),
        sop_instance_uid=generate_uid(prefix, [str(seed), "sop"]),
        series_number=series_number,
        instance_number=1,
        manufacturer=manufacturer or "Kerma test generator",
        patient_id=f"OCR{rng.randint(0, 99999):05d}",
        patient_name="Screen^Test",
        patient_sex="O",
        study_date="20240102",
        study_time="101500",
        accession_number=f"A{seed:06d}",
        series_description=series_description,
        transfer_syntax_uid=JPEGBaseline8Bit if jpeg else ExplicitVRLittleEndian,
    )
    sc.Modality = "CT"
    sc.ImageType = ["DERIVED", "SECONDARY", "SCREEN SAVE"]
    buffer = BytesIO()
    sc.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def tally(result, exam: Exam) -> tuple[dict[str, int], list]:
    """right / flagged / wrong over every value the generator drew (a value missed entirely counts as flagged only
    when the result says it needs review, else wrong)."""
    counts = {"right": 0, "flagged": 0, "wrong": 0}
    wrong = []
    pairs = [(result.totals, exam.total_values)]
    pairs += [(result.events[i].readings if i < len(result.events) else {}, truth) for i, truth in enumerate(exam.events)]
    if len(result.events) != len(exam.events) and not result.needs_review:
        wrong.append(("row count", len(exam.events), len(result.events)))
    for readings, truth in pairs:
        for name, value in truth.items():
            reading = readings.get(name)
            if reading is None:
                counts["flagged" if result.needs_review else "wrong"] += 1
            elif not reading.ok:
                counts["flagged"] += 1
            elif reading.value == value or (name == "protocol" and fold(reading.value) == fold(value)):
                counts["right"] += 1  # free text is read up to the characters its font draws alike (l and I)
            else:
                counts["wrong"] += 1
                wrong.append((name, value, reading))
    return counts, wrong
