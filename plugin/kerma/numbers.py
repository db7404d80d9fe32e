"""How numbers read in texts people get (alert reasons, e-mails, reports): significant digits and the unit.

The lowest layer, beside :mod:`kerma.quantities` whose units it shows.
"""

from __future__ import annotations

from .quantities import unit_of


def significant(value: float) -> str:
    """4 significant digits, without an exponent for the large values doses reach (``12345`` stays ``12345``)."""
    return f"{value:.4g}" if abs(value) < 10_000 else f"{value:.0f}"


def show(value: float, quantity: str) -> str:
    """A value with the unit of ``quantity`` (what people read in a reason, an e-mail or a report)."""
    return f"{significant(value)} {unit_of(quantity)}".strip()
