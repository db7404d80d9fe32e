"""What an OCR engine hands the layout parser: lines of words, each with where it is and how sure the engine is.

Both engines (:mod:`.glyphs`, :mod:`.tesseract`) produce :class:`Line` objects, so the parser
(:mod:`.parse`) never knows which engine read the screen.
"""

from __future__ import annotations

from dataclasses import dataclass

# Characters that screen fonts draw alike (a glyph set may hold one bitmap for both) and that tesseract mixes up:
# labels are compared in this folded form, never numbers.
_FOLD = str.maketrans({"I": "l", "i": "l", "1": "l", "|": "l", "L": "l", "0": "o", "O": "o", "Q": "o"})


@dataclass(frozen=True, slots=True)
class Char:
    """One recognised character.

    Attributes
    ----------
    text : str
        The character as read.
    alternatives : str
        Every character this mark can be (``text`` included): more than one where the font draws two characters
        alike (``0`` and ``O`` in Philips' small font), so a number column can take the digit without guessing.
    confidence : float
        0..1, the engine's certainty for this character.
    """

    text: str
    alternatives: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Word:
    """Characters between two spaces, with their horizontal extent in pixels of the screen."""

    chars: tuple[Char, ...]
    x0: int
    x1: int
    doubt: str = ""  # why the engine doubts the word (e.g. two reads disagree), for the reviewer

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.chars)

    @property
    def confidence(self) -> float:
        return min((c.confidence for c in self.chars), default=0.0)


@dataclass(frozen=True, slots=True)
class Line:
    """A line of text, top to bottom order given by ``y`` (pixels of the screen)."""

    words: tuple[Word, ...]
    y: int

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def fold(text: str) -> str:
    """The form in which labels are compared: lower case, look-alike characters merged, spaces removed."""
    return "".join(text.translate(_FOLD).lower().split())


def word_from_text(text: str, x0: int, x1: int, confidence: float) -> Word:
    """A word whose characters share one confidence (tesseract gives one per word)."""
    return Word(tuple(Char(c, c, confidence) for c in text), x0, x1)
