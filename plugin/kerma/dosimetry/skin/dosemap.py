"""The skin dose map: every placed beam's dose on every skin cell it reaches, and the bound for the others.

A cell's dose is the mean over its area: each beam contributes K_a,r × k_isq × k_bs × k_med × k_tab (at the
cell's centre) times the fraction of the cell the beam covers. That fraction is computed in the beam's own
angular coordinates (u, v = offsets across and along the beam divided by the depth along it): the cell's
projection is the rectangle spanned by its two edges, the field is |u| ≤ tan_u, |v| ≤ tan_v, and the covered
fraction is the product of the overlaps along u and v. A beam narrower than a cell therefore deposits
(field area / cell area) of its dose in that cell instead of being missed between cell centres, and the dose
integrated over the skin is kept whatever the grid.

Only skin facing the source is entrance skin (cylinder: outward normal toward the source); the plane counts
from both sides, as PySkinDose's does. A ray from the source to a cell that crosses the table top within the
table's width is attenuated by ``table_transmission``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import corrections
from .geometry import Geometry, PlacedBeam
from .phantoms import SkinGrid


@dataclass(frozen=True)
class BeamOnSkin:
    """What one placed beam did on the phantom."""

    peak_mGy: float          # its largest cell dose
    area_cm2: float          # skin area it covered
    k_isq_max: float         # largest inverse-square factor over the cells it reached (0 when none)
    through_table: bool      # some of its dose crossed the table
    k_bs: float | None       # factors at its peak cell
    k_med: float | None
    hvl_mmAl: float | None


def _overlap(centre: np.ndarray, half: np.ndarray, limit: float) -> np.ndarray:
    """Fraction of the interval centre ± half inside [-limit, limit]."""
    half = np.maximum(half, 1e-12)
    return np.clip((np.minimum(centre + half, limit) - np.maximum(centre - half, -limit)) / (2 * half), 0.0, 1.0)


def beam_factors(beams: list[PlacedBeam], geometry: Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HVL, k_bs and k_med (per tabulated field side) for each placed beam; every placed beam has a kVp or is
    given the kVp with the largest k_bs × k_med."""
    kvp = np.array([b.beam.kvp if b.beam.kvp is not None else np.nan for b in beams])
    copper = np.array([b.beam.copper_mm for b in beams])
    aluminium = np.array([b.beam.aluminium_mm for b in beams])
    missing = np.isnan(kvp)
    if missing.any():
        kvps = corrections.beam_qualities().kvps
        for i in np.flatnonzero(missing):
            hvl = corrections.hvl_mmAl(kvps, np.full_like(kvps, copper[i]), np.full_like(kvps, aluminium[i]),
                                       geometry.inherent_filtration_mmAl)
            product = (corrections.backscatter(kvps, hvl) * corrections.mu_en_ratio(kvps, hvl)).max(axis=1)
            kvp[i] = kvps[int(np.argmax(product))]
    hvl = corrections.hvl_mmAl(kvp, copper, aluminium, geometry.inherent_filtration_mmAl)
    return hvl, corrections.backscatter(kvp, hvl), corrections.mu_en_ratio(kvp, hvl)


def _geometry_key(beam: PlacedBeam) -> tuple:
    return (tuple(np.round(beam.source, 6)), tuple(np.round(beam.e_u, 9)), tuple(np.round(beam.e_w, 9)),
            round(beam.tan_u, 9), round(beam.tan_v, 9), round(beam.rp_distance_cm, 6))


def _footprint(beam: PlacedBeam, grid: SkinGrid, geometry: Geometry):
    """Cells a beam reaches: their indices, covered fraction, distance from the source and table transmission."""
    basis = np.column_stack([beam.e_u, beam.e_v, beam.e_w])
    offset = beam.source @ basis
    centres, radii, members = grid.blocks
    tiles = centres @ basis - offset                            # (across, along, depth) of each tile's centre
    near = ((tiles[:, 2] > -radii)
            & (np.abs(tiles[:, 0]) <= beam.tan_u * np.maximum(tiles[:, 2], 0) + radii * math.hypot(1, beam.tan_u))
            & (np.abs(tiles[:, 1]) <= beam.tan_v * np.maximum(tiles[:, 2], 0) + radii * math.hypot(1, beam.tan_v)))
    if not near.any():
        return np.empty(0, dtype=int), None, None, None
    cells = np.concatenate([members[i] for i in np.flatnonzero(near)])
    local = grid.points[cells] @ basis - offset                 # (across, along, depth) of each cell
    depth = local[:, 2]
    ahead = depth > 1e-6
    depth = np.where(ahead, depth, 1.0)
    u, v = local[:, 0] / depth, local[:, 1] / depth
    keep = ahead
    if grid.normals is not None:
        keep &= np.einsum("ij,ij->i", grid.points[cells] - beam.source, grid.normals[cells]) < 0  # facing the source
    cells, depth, u, v = cells[keep], depth[keep], u[keep], v[keep]
    if not cells.size:
        return cells, None, None, None
    wc, uc, vc = depth, u, v
    halves = []
    for axis, centre in ((beam.e_u, uc), (beam.e_v, vc)):
        # projection of each cell edge on the angular coordinate: (t·e - c t·e_w) / w
        along_1 = grid.tangent_1[cells] @ axis - centre * (grid.tangent_1[cells] @ beam.e_w)
        along_2 = grid.tangent_2[cells] @ axis - centre * (grid.tangent_2[cells] @ beam.e_w)
        halves.append((grid.size_1[cells] * np.abs(along_1) + grid.size_2[cells] * np.abs(along_2)) / (2 * wc))
    covered = _overlap(uc, halves[0], beam.tan_u) * _overlap(vc, halves[1], beam.tan_v)
    hit = covered > 0
    cells, covered = cells[hit], covered[hit]
    points = grid.points[cells]
    distance = np.linalg.norm(points - beam.source, axis=1)
    crossing = np.zeros(len(cells), dtype=bool)
    if beam.source[2] < 0:  # below the table top: does the ray cross it within the table's width?
        s = -beam.source[2] / (points[:, 2] - beam.source[2])
        crossing = np.abs(beam.source[0] + s * (points[:, 0] - beam.source[0])) <= geometry.table_width_cm / 2
    return cells, covered, distance, crossing


def accumulate(beams: list[PlacedBeam], grid: SkinGrid, geometry: Geometry) -> tuple[np.ndarray, list[BeamOnSkin]]:
    """Dose per skin cell (mGy, in grid order) and each beam's share.

    Beams with the same geometry (a run of fluoroscopy events without moving anything) share one footprint.
    """
    dose = np.zeros(len(grid.points))
    if not beams:
        return dose, []
    hvl, k_bs_table, k_med_table = beam_factors(beams, geometry)
    footprints: dict[tuple, tuple] = {}
    shares = []
    for index, beam in enumerate(beams):
        key = _geometry_key(beam)
        if key not in footprints:
            footprints[key] = _footprint(beam, grid, geometry)
        cells, covered, distance, crossing = footprints[key]
        if not cells.size:
            shares.append(BeamOnSkin(0.0, 0.0, 0.0, False, None, None, float(hvl[index])))
            continue
        side = beam.side_per_cm * distance
        k_isq = corrections.inverse_square(beam.rp_distance_cm, distance)
        k_bs = corrections.at_field_side(k_bs_table[index], side)
        k_med = corrections.at_field_side(k_med_table[index], side)
        k_tab = np.where(crossing, geometry.table_transmission, 1.0)
        contribution = beam.beam.ka_r_mGy * k_isq * k_bs * k_med * k_tab * covered
        dose[cells] += contribution
        top = int(np.argmax(contribution))
        shares.append(BeamOnSkin(
            peak_mGy=float(contribution[top]), area_cm2=float(np.sum(covered * grid.cell_area_cm2[cells])),
            k_isq_max=float(k_isq.max()), through_table=bool(crossing.any()),
            k_bs=float(k_bs[top]), k_med=float(k_med[top]), hvl_mmAl=float(hvl[index])))
    return dose, shares
