"""An estimate's uncertainty, shared by the dosimetry models: components from a table, combined in quadrature.

Each model ships ``uncertainty_components.csv`` (``name, relative, applies, derivation, source``): a component's
``relative`` is the half-width of the range its factor can plausibly take (not a standard deviation); it applies
when its ``applies`` is ``always`` or one of the conditions the model states for an estimate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


def rounded(value, digits: int = 6) -> float | None:
    """A float for JSON: finite, to ``digits`` significant digits; ``None`` (and NaN, ±inf) give ``None``."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


@dataclass(frozen=True)
class Uncertainty:
    """``relative``: half-widths of the applicable components combined in quadrature (``None`` without estimate)."""

    relative: float | None
    components: tuple[dict, ...]
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"relative": rounded(self.relative), "combination": "components' relative half-widths in quadrature",
                "components": [dict(c) for c in self.components], "reasons": list(self.reasons)}


def combine(table: Iterable[dict], conditions: set[str], reasons: Iterable[str], estimated: bool = True) -> Uncertainty:
    """The components of ``table`` whose ``applies`` is ``always`` or in ``conditions``, in quadrature.

    Parameters
    ----------
    table : iterable of dict
        Rows of a model's ``uncertainty_components.csv``.
    conditions : set of str
        What the estimate had to assume or use (the model's names).
    reasons : iterable of str
        Plain-language statements of what is missing or assumed, kept in order.
    estimated : bool
        False when there is no estimate at all (no relative uncertainty then).
    """
    reasons = tuple(reasons)
    if not estimated:
        return Uncertainty(None, (), reasons)
    components = tuple(
        {"name": r["name"], "relative": float(r["relative"]), "why": r["derivation"], "source": r["source"]}
        for r in table if r["applies"] == "always" or r["applies"] in conditions)
    relative = math.sqrt(sum(c["relative"] ** 2 for c in components))
    return Uncertainty(relative, components, reasons)
