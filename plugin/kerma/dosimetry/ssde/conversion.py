"""The size conversion factor f(D) of AAPM Reports 204 (body) and 293 (head): SSDE = f(D) × CTDIvol.

f(D) = a·exp(−b·D), D in cm, with a and b from ``data/ssde_conversion_coefficients.csv`` for the CTDIvol's
reference phantom (32 cm or 16 cm) and the body region (AAPM 204 for the body, AAPM 293 for the head; AAPM 220:
D may be the water-equivalent diameter Dw in place of the effective diameter Deff).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .tables import COEFFICIENTS, rows, verified

PHANTOM_CM = {"body32": 32, "head16": 16}
# outside this range of D the fits extrapolate beyond the published tables (the table's fit_validity column)
FIT_RANGE_CM = (8.0, 45.0)


@dataclass(frozen=True)
class Conversion:
    """f for one diameter: the fit used and what may limit it."""

    f: float
    diameter_cm: float
    a: float
    b: float
    report: str
    phantom_cm: int
    verified: bool
    source: str
    verification: str
    extrapolated: bool

    def to_dict(self) -> dict:
        return {"f": round(self.f, 4), "a": self.a, "b": self.b, "report": self.report, "phantom_cm": self.phantom_cm,
                "verified": self.verified, "verification": self.verification, "source": self.source,
                "extrapolated": self.extrapolated}


class NoConversion(ValueError):
    """No usable fit for this phantom and region (the message says why)."""


def fit_row(phantom: str, head: bool, allow_unverified: bool = False) -> dict:
    """The coefficient row for a CTDIvol phantom (``body32`` / ``head16``) and body region.

    Raises
    ------
    NoConversion
        No fit for the combination, or only an unverified one and ``allow_unverified`` is False.
    """
    cm = PHANTOM_CM.get(phantom)
    if cm is None:
        raise NoConversion(f"CTDIvol phantom {phantom!r} is neither the 32 cm nor the 16 cm phantom")
    if head and cm != 16:
        raise NoConversion("head scan with CTDIvol in the 32 cm phantom: AAPM 293 gives f for the 16 cm phantom only")
    report = "AAPM Report 293" if head else "AAPM Report 204"
    candidates = [r for r in rows(COEFFICIENTS) if r["report"].startswith(report) and int(r["phantom_cm"]) == cm]
    if not candidates:
        raise NoConversion(f"no {report} fit for the {cm} cm phantom")
    row = candidates[0]
    if not verified(row) and not allow_unverified:
        raise NoConversion(f"the {report} coefficients here are a third party's transcription "
                           f"({row['verification'].split(' ')[0]}), not checked against the report: not used")
    return row


def conversion(diameter_cm: float, phantom: str, head: bool = False, allow_unverified: bool = False) -> Conversion:
    """f(D) for a diameter (cm) and the CTDIvol's phantom; see ``fit_row`` for what raises."""
    if not math.isfinite(diameter_cm) or diameter_cm <= 0:
        raise NoConversion(f"diameter {diameter_cm!r} cm is not a positive number")
    row = fit_row(phantom, head, allow_unverified)
    a, b = float(row["a"]), float(row["b"])
    return Conversion(f=a * math.exp(-b * diameter_cm), diameter_cm=diameter_cm, a=a, b=b,
                      report=row["report"], phantom_cm=int(row["phantom_cm"]), verified=verified(row),
                      source=row["source"], verification=row["verification"],
                      extrapolated=not FIT_RANGE_CM[0] <= diameter_cm <= FIT_RANGE_CM[1])
