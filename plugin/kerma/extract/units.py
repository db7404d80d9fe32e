"""Unit conversion driven by the UCUM code each SR measurement carries.

A measurement is converted to the unit named in the target field (``dap_Gycm2``
takes ``Gy.cm2``) by factoring both UCUM expressions into SI magnitude and base
dimensions.  Vendors write UCUM loosely (``Gym2``, ``mGycm``, ``uAs``,
``Gy.cm^2``); the tokenizer accepts those spellings as long as they parse
unambiguously into known atoms, so no vendor is special-cased.
"""

from __future__ import annotations

import re
from functools import lru_cache

# atom -> (magnitude in SI, dimension vector over (m, kg, s, A, Gy, Bq, rad))
# Gy and Bq are kept as their own dimensions: a dose never converts to J/kg by accident.
_ATOMS: dict[str, tuple[float, tuple[int, ...]]] = {
    "m": (1.0, (1, 0, 0, 0, 0, 0, 0)),
    "g": (1e-3, (0, 1, 0, 0, 0, 0, 0)),
    "s": (1.0, (0, 0, 1, 0, 0, 0, 0)),
    "min": (60.0, (0, 0, 1, 0, 0, 0, 0)),
    "h": (3600.0, (0, 0, 1, 0, 0, 0, 0)),
    "A": (1.0, (0, 0, 0, 1, 0, 0, 0)),
    "V": (1.0, (2, 1, -3, -1, 0, 0, 0)),
    "N": (1.0, (1, 1, -2, 0, 0, 0, 0)),
    "Gy": (1.0, (0, 0, 0, 0, 1, 0, 0)),
    "Sv": (1.0, (0, 0, 0, 0, 1, 0, 0)),
    "L": (1e-3, (3, 0, 0, 0, 0, 0, 0)),  # litre (contrast volumes in mL)
    "Bq": (1.0, (0, 0, 0, 0, 0, 1, 0)),
    "Ci": (3.7e10, (0, 0, 0, 0, 0, 1, 0)),
    "deg": (1.0, (0, 0, 0, 0, 0, 0, 1)),
    "%": (0.01, (0, 0, 0, 0, 0, 0, 0)),
    "1": (1.0, (0, 0, 0, 0, 0, 0, 0)),
    "a": (365.25 * 86400, (0, 0, 1, 0, 0, 0, 0)),
    "mo": (365.25 * 86400 / 12, (0, 0, 1, 0, 0, 0, 0)),
    "wk": (7 * 86400, (0, 0, 1, 0, 0, 0, 0)),
    "d": (86400.0, (0, 0, 1, 0, 0, 0, 0)),
}
_PREFIXES = {"": 1.0, "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6, "n": 1e-9, "k": 1e3, "M": 1e6, "G": 1e9}
_DIMENSIONLESS = (0,) * 7
# counted things that devices write without UCUM's annotation braces ("pulse/s", "X-ray sources")
_COUNT_WORDS = re.compile(r"(?i)\b(pulses?|events?|frames?|x-ray sources?|ratio|exposures?)\b")

# longest atoms first so that "min" wins over "m" + "in", "Gy" over "G" + "y"
_ATOM_PATTERN = "|".join(sorted((re.escape(a) for a in _ATOMS), key=len, reverse=True))
_TERM = re.compile(rf"(?P<prefix>[dcmunkMG]?)(?P<atom>{_ATOM_PATTERN})(?P<exp>-?\d+)?")


class UnitError(ValueError):
    """A UCUM code that cannot be understood or converted."""


@lru_cache(maxsize=512)
def parse(code: str) -> tuple[float, tuple[int, ...]]:
    """Magnitude and dimension of a UCUM unit code (annotations in braces count as 1)."""
    text = re.sub(r"\{[^}]*\}", "1", code.strip())
    text = _COUNT_WORDS.sub("1", text).replace("^", "").replace("*", ".")
    if not text:
        raise UnitError("empty unit code")
    numerator, _, denominator = text.partition("/")
    magnitude, dims = _product(numerator)
    if denominator:
        mag_d, dims_d = _product(denominator)
        magnitude /= mag_d
        dims = tuple(a - b for a, b in zip(dims, dims_d))
    return magnitude, dims


def _product(text: str) -> tuple[float, tuple[int, ...]]:
    magnitude, dims = 1.0, _DIMENSIONLESS
    for part in filter(None, text.split(".")):
        pos = 0
        while pos < len(part):
            m = _best_term(part, pos)
            if m is None:
                raise UnitError(f"unknown unit {text!r}")
            atom_mag, atom_dims = _ATOMS[m.group("atom")]
            exp = int(m.group("exp") or 1)
            magnitude *= (_PREFIXES[m.group("prefix")] * atom_mag) ** exp
            dims = tuple(d + a * exp for d, a in zip(dims, atom_dims))
            pos = m.end()
    return magnitude, dims


def _best_term(text: str, pos: int):
    """Match an atom at pos, preferring an unprefixed atom when a prefix reading would not parse the rest."""
    candidates = []
    m = _TERM.match(text, pos)
    if m:
        candidates.append(m)
    bare = re.compile(rf"(?P<prefix>)(?P<atom>{_ATOM_PATTERN})(?P<exp>-?\d+)?").match(text, pos)
    if bare and (not m or bare.end() != m.end() or bare.group("atom") != m.group("atom")):
        candidates.append(bare)
    for c in candidates:
        if c.end() == len(text) or _best_term(text, c.end()) is not None:
            return c
    return None


def factor(source: str, target: str) -> float:
    """Multiplier taking a value in UCUM ``source`` to UCUM ``target``."""
    mag_s, dim_s = parse(source)
    mag_t, dim_t = parse(target)
    if dim_s != dim_t:
        raise UnitError(f"cannot convert {source!r} to {target!r}")
    return mag_s / mag_t


def convert(value: float, source: str, target: str) -> float:
    """``value`` in ``source`` expressed in ``target``, rounded to 12 significant digits."""
    return float(f"{value * factor(source, target):.12g}")
