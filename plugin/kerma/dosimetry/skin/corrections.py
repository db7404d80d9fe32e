"""Factors from the reference air kerma to skin dose (``data/skin_dose_model.csv``):

    D_skin = K_a,r × k_isq × k_bs × k_med × k_tab

* ``k_isq`` inverse square from the reference point to the skin cell;
* ``k_bs`` backscatter, Benmakhlouf et al. 2013 (Phys Med Biol 58:247) eq. 8: a quadratic in kVp and HVL whose
  nine coefficients are tabulated for field sides of 5, 10, 20, 25 and 35 cm
  (``skin_backscatter_bsf_coefficients.csv``); between field sides linear interpolation, outside them the
  nearest tabulated side (a smaller field has less backscatter, so this errs high);
* ``k_med`` the ratio of mass energy-absorption coefficients tissue / air (``skin_backscatter_mu_en_table.csv``,
  column ``mu_en_quotient``), linear in HVL within each tabulated kVp and field side, then in kVp and field side;
* ``k_tab`` the transmission of table and mattress where the ray from the source to the cell crosses the table
  top (a setting of ``Geometry``: measured values are system specific).

The HVL is not in the report: it is estimated from kVp and filtration with the beam qualities of the same table,
whose HVLs are given for an inherent filtration of 2.5-5.1 mm Al and added copper up to 0.9 mm: bilinear in kVp
and copper at the table's copper series (3.1 mm Al), plus the change the total aluminium (inherent + added)
makes without copper. That sum slightly overstates the HVL of a beam with both copper and aluminium, which errs
toward more backscatter. Values beyond the table (kVp outside 50-150, copper beyond 0.9 mm) take its edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .tables import rows

FIELD_SIDES_CM = np.array([5.0, 10.0, 20.0, 25.0, 35.0])
_COEFFICIENT_COLUMNS = ("FSL_5cm", "FSL_10cm", "FSL_20cm", "FSL_25cm", "FSL_35cm")


@lru_cache(maxsize=1)
def bsf_coefficients() -> np.ndarray:
    """Benmakhlouf et al. 2013 eq. 8 coefficients c0..c8 (rows) per tabulated field side (columns)."""
    table = {r["coefficient"]: r for r in rows("skin_backscatter_bsf_coefficients.csv")}
    return np.array([[float(table[f"c{i}"][col]) for col in _COEFFICIENT_COLUMNS] for i in range(9)])


@dataclass(frozen=True)
class BeamQualities:
    kvps: np.ndarray                # tabulated kVp
    copper_mm: np.ndarray           # copper series at the base inherent filtration
    base_inherent_mmAl: float
    hvl_by_copper: np.ndarray       # [kVp, copper] at the base inherent filtration
    inherent_mmAl: np.ndarray       # inherent filtrations without copper
    hvl_by_aluminium: np.ndarray    # [kVp, inherent] without copper
    mu_en: tuple                    # [kVp][field side] -> (sorted HVL, mu_en ratio)


@lru_cache(maxsize=1)
def beam_qualities() -> BeamQualities:
    table = rows("skin_backscatter_mu_en_table.csv")
    hvl = {(float(r["kvp_kv"]), float(r["filtration_inherent_mmal"]), float(r["filtration_added_mmcu"])):
           float(r["hvl_mmal"]) for r in table}
    kvps = np.array(sorted({k for k, _, _ in hvl}))
    inherents = sorted({i for _, i, _ in hvl})
    base = max(inherents, key=lambda i: len({c for _, j, c in hvl if j == i}))  # the one with the copper series
    coppers = np.array(sorted({c for _, i, c in hvl if i == base}))
    no_copper = np.array(sorted(i for i in inherents if all((k, i, 0.0) in hvl for k in kvps)))
    mu_en = []
    for k in kvps:
        per_side = []
        for side in FIELD_SIDES_CM:
            pairs = sorted((float(r["hvl_mmal"]), float(r["mu_en_quotient"])) for r in table
                           if float(r["kvp_kv"]) == k and float(r["field_side_length_cm"]) == side)
            per_side.append((np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])))
        mu_en.append(tuple(per_side))
    return BeamQualities(
        kvps=kvps, copper_mm=coppers, base_inherent_mmAl=base,
        hvl_by_copper=np.array([[hvl[(k, base, c)] for c in coppers] for k in kvps]),
        inherent_mmAl=no_copper,
        hvl_by_aluminium=np.array([[hvl[(k, i, 0.0)] for i in no_copper] for k in kvps]),
        mu_en=tuple(mu_en))


def _bracket(grid: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower index into ``grid`` and the fraction toward the next point, for ``x`` clamped to the grid."""
    x = np.clip(x, grid[0], grid[-1])
    i = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, len(grid) - 2)
    return i, (x - grid[i]) / (grid[i + 1] - grid[i])


def _bilinear(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    i, tx = _bracket(xs, x)
    j, ty = _bracket(ys, y)
    return (z[i, j] * (1 - tx) * (1 - ty) + z[i + 1, j] * tx * (1 - ty)
            + z[i, j + 1] * (1 - tx) * ty + z[i + 1, j + 1] * tx * ty)


def hvl_mmAl(kvp, copper_mm, aluminium_mm, inherent_mmAl: float) -> np.ndarray:
    """Estimated first HVL (mm Al) per beam, from kVp, added copper and added aluminium (arrays of one length)."""
    q = beam_qualities()
    kvp = np.asarray(kvp, dtype=float)
    with_copper = _bilinear(q.kvps, q.copper_mm, q.hvl_by_copper, kvp, np.asarray(copper_mm, dtype=float))
    aluminium = inherent_mmAl + np.asarray(aluminium_mm, dtype=float)
    change = (_bilinear(q.kvps, q.inherent_mmAl, q.hvl_by_aluminium, kvp, aluminium)
              - _bilinear(q.kvps, q.inherent_mmAl, q.hvl_by_aluminium, kvp, np.full_like(kvp, q.base_inherent_mmAl)))
    return with_copper + change


def backscatter(kvp, hvl) -> np.ndarray:
    """k_bs per beam (rows) at each tabulated field side (columns): Benmakhlouf et al. 2013 eq. 8."""
    c = bsf_coefficients()
    k = np.asarray(kvp, dtype=float)[:, None]
    h = np.asarray(hvl, dtype=float)[:, None]
    return ((c[0] + c[1] * k + c[2] * k**2) + (c[3] + c[4] * k + c[5] * k**2) * h
            + (c[6] + c[7] * k + c[8] * k**2) * h**2)


def mu_en_ratio(kvp, hvl) -> np.ndarray:
    """k_med per beam (rows) at each tabulated field side (columns)."""
    q = beam_qualities()
    kvp = np.asarray(kvp, dtype=float)
    hvl = np.asarray(hvl, dtype=float)
    at_kvp = np.array([[np.interp(hvl, h, mu) for h, mu in per_side] for per_side in q.mu_en])  # [kVp, side, beam]
    i, t = _bracket(q.kvps, kvp)
    beams = np.arange(len(kvp))
    return (at_kvp[i, :, beams] * (1 - t)[:, None] + at_kvp[i + 1, :, beams] * t[:, None])


def at_field_side(per_side: np.ndarray, side_cm) -> np.ndarray:
    """A factor tabulated at ``FIELD_SIDES_CM`` (one beam's row) at the field side(s) ``side_cm``."""
    return np.interp(side_cm, FIELD_SIDES_CM, per_side)


def field_side_bracket(side_cm) -> tuple[np.ndarray, np.ndarray]:
    """Index into ``FIELD_SIDES_CM`` and fraction toward the next side (clamped to the table): for per-pair lookups."""
    return _bracket(FIELD_SIDES_CM, np.asarray(side_cm, dtype=float))


def largest_over_kvp(copper_mm: float, aluminium_mm: float, inherent_mmAl: float, side_cm: float) -> float:
    """The largest k_bs × k_med over the tabulated kVps, for a beam whose kVp is not reported."""
    kvps = beam_qualities().kvps
    hvl = hvl_mmAl(kvps, np.full_like(kvps, copper_mm), np.full_like(kvps, aluminium_mm), inherent_mmAl)
    product = backscatter(kvps, hvl) * mu_en_ratio(kvps, hvl)
    return float(max(at_field_side(row, side_cm) for row in product))


@lru_cache(maxsize=1)
def largest_tabulated() -> float:
    """The largest k_bs × k_med of any beam quality and field side of the table: for a beam of unknown quality."""
    return max(float(r["backscatter"]) * float(r["mu_en_quotient"]) for r in rows("skin_backscatter_mu_en_table.csv"))
