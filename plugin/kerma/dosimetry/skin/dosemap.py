"""The skin dose map: every placed beam's dose on every skin cell it reaches.

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

from dataclasses import dataclass

import numpy as np

from . import corrections
from .geometry import Geometry, PlacedBeam
from .phantoms import SkinGrid


@dataclass(frozen=True)
class BeamOnSkin:
    """What one event did on the phantom (all its beam positions, for a rotational acquisition)."""

    peak_mGy: float          # its largest cell dose
    area_cm2: float          # skin area it covered
    k_isq_max: float         # largest inverse-square factor over the cells it reached (0 when none)
    through_table: bool      # some of its dose crossed the table
    k_bs: float | None       # factors at its peak cell
    k_med: float | None
    hvl_mmAl: float | None


def _overlap(centre: np.ndarray, half: np.ndarray, limit) -> np.ndarray:
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


CHUNK = 200_000  # (beam, cell) pairs handled at once: bounds the memory of a study with many large fields


@dataclass(frozen=True)
class _Beams:
    """The placed beams as arrays (one row per beam)."""

    source: np.ndarray      # (E, 3)
    basis: np.ndarray       # (E, 3, 3): rows e_u, e_v, e_w
    tan: np.ndarray         # (E, 2): half-field tangents across and along
    rp: np.ndarray          # (E,)
    side_per_cm: np.ndarray
    ka_r: np.ndarray

    @classmethod
    def of(cls, beams: list[PlacedBeam]) -> "_Beams":
        return cls(source=np.array([b.source for b in beams]),
                   basis=np.array([[b.e_u, b.e_v, b.e_w] for b in beams]),
                   tan=np.array([[b.tan_u, b.tan_v] for b in beams]),
                   rp=np.array([b.rp_distance_cm for b in beams]),
                   side_per_cm=np.array([b.side_per_cm for b in beams]),
                   ka_r=np.array([b.ka_r_mGy for b in beams]))


def _pairs(beams: _Beams, grid: SkinGrid) -> tuple[np.ndarray, np.ndarray]:
    """(beam, cell) pairs worth a closer look: the cells of every tile whose bounding sphere meets the beam's pyramid
    and, on a cylinder, that may face the source."""
    tiles = grid.tiles
    towards = tiles.centres[None, :, :] - beams.source[:, None, :]              # (E, T, 3) source -> tile
    local = np.einsum("eij,etj->eti", beams.basis, towards)
    ahead = np.maximum(local[..., 2], 0.0)
    slack = tiles.radii[None, :, None] * np.hypot(1.0, beams.tan)[:, None, :]
    near = (local[..., 2] > -tiles.radii[None, :]) & np.all(
        np.abs(local[..., :2]) <= beams.tan[:, None, :] * ahead[..., None] + slack, axis=-1)
    if tiles.normals is not None:
        # a tile all of whose cells face away from the source is exit skin: its normal is within 90° minus the
        # spread of its normals and of the directions from the source to its cells of the source's direction
        distance = np.linalg.norm(towards, axis=-1)
        cosine = np.einsum("etj,tj->et", towards, tiles.normals) / distance
        margin = np.minimum(tiles.spread[None, :] + np.arcsin(np.minimum(tiles.radii[None, :] / distance, 1.0)),
                            np.pi / 2)
        near &= cosine <= np.sin(margin)
    beam, tile = np.nonzero(near)
    cells = tiles.members[tile]
    beam = np.repeat(beam, cells.shape[1])
    cells = cells.ravel()
    keep = cells >= 0
    return beam[keep], cells[keep]


def _doses(beams: _Beams, k_bs: np.ndarray, k_med: np.ndarray, grid: SkinGrid, geometry: Geometry,
           beam: np.ndarray, cell: np.ndarray) -> dict:
    """Dose of each (beam, cell) pair that the beam reaches, with the factors that made it."""
    d = grid.points[cell] - beams.source[beam]
    basis = beams.basis[beam]
    local = np.einsum("mij,mj->mi", basis, d)
    depth = local[:, 2]
    keep = depth > 1e-6
    if grid.normals is not None:
        keep &= np.einsum("mj,mj->m", d, grid.normals[cell]) < 0  # entrance skin faces the source
    beam, cell, d, basis, local = beam[keep], cell[keep], d[keep], basis[keep], local[keep]
    depth = local[:, 2]
    angular = local[:, :2] / depth[:, None]                       # (u, v)
    edge_1 = np.einsum("mij,mj->mi", basis, grid.tangent_1[cell])
    edge_2 = np.einsum("mij,mj->mi", basis, grid.tangent_2[cell])
    # half-extent of each cell in (u, v): its edges projected, (t·e - c t·e_w) / w, times half their lengths
    half = (grid.size_1[cell, None] * np.abs(edge_1[:, :2] - angular * edge_1[:, 2:])
            + grid.size_2[cell, None] * np.abs(edge_2[:, :2] - angular * edge_2[:, 2:])) / (2 * depth[:, None])
    covered = np.prod(_overlap(angular, half, beams.tan[beam]), axis=1)
    hit = covered > 0
    beam, cell, d, covered = beam[hit], cell[hit], d[hit], covered[hit]
    distance = np.linalg.norm(d, axis=1)
    side = beams.side_per_cm[beam] * distance
    i, t = corrections.field_side_bracket(side)
    bs = k_bs[beam, i] * (1 - t) + k_bs[beam, i + 1] * t
    med = k_med[beam, i] * (1 - t) + k_med[beam, i + 1] * t
    k_isq = (beams.rp[beam] / distance) ** 2
    source = beams.source[beam]
    points = grid.points[cell]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = -source[:, 2] / (points[:, 2] - source[:, 2])
    # a source below the table top sends rays through it; do they cross it within the table's width?
    through = (source[:, 2] < 0) & (np.abs(source[:, 0] + s * (points[:, 0] - source[:, 0])) <= geometry.table_width_cm / 2)
    dose = beams.ka_r[beam] * k_isq * bs * med * np.where(through, geometry.table_transmission, 1.0) * covered
    return {"beam": beam, "cell": cell, "dose": dose, "covered": covered, "k_isq": k_isq, "k_bs": bs, "k_med": med,
            "through": through}


def accumulate(beams: list[PlacedBeam], grid: SkinGrid, geometry: Geometry) -> tuple[np.ndarray, dict[int, BeamOnSkin]]:
    """Dose per skin cell (mGy, in grid order) and each event's share (by event index: the positions of a
    rotational acquisition together); all beams at once, in numpy."""
    n = len(grid.points)
    dose = np.zeros(n)
    if not beams:
        return dose, {}
    hvl, k_bs, k_med = beam_factors(beams, geometry)
    arrays = _Beams.of(beams)
    events, event_of = np.unique([b.beam.index for b in beams], return_inverse=True)
    pair_beam, pair_cell = _pairs(arrays, grid)
    parts = [_doses(arrays, k_bs, k_med, grid, geometry, pair_beam[start:start + CHUNK], pair_cell[start:start + CHUNK])
             for start in range(0, len(pair_beam), CHUNK)]
    hits = {key: np.concatenate([p[key] for p in parts]) if parts else np.empty(0) for key in
            ("beam", "cell", "dose", "covered", "k_isq", "k_bs", "k_med", "through")}
    cell = hits["cell"].astype(int)
    event = event_of[hits["beam"].astype(int)]
    dose += np.bincount(cell, weights=hits["dose"], minlength=n)
    count = len(events)
    # per event and cell: its dose and the fraction of the cell its beam positions cover
    keys, which = np.unique(event * n + cell, return_inverse=True)
    key_dose = np.bincount(which, weights=hits["dose"])
    key_covered = np.minimum(np.bincount(which, weights=hits["covered"]), 1.0)
    key_event = keys // n
    peak, k_isq_max = np.zeros(count), np.zeros(count)
    np.maximum.at(peak, key_event, key_dose)
    np.maximum.at(k_isq_max, event, hits["k_isq"])
    area = np.bincount(key_event, weights=key_covered * grid.cell_area_cm2[keys % n], minlength=count)
    through = np.bincount(event, weights=hits["through"].astype(float), minlength=count) > 0
    order = np.lexsort((hits["dose"], event))           # each event's largest single dose last: its factors
    last = order[np.r_[event[order][1:] != event[order][:-1], True]] if len(order) else order
    at_peak = {int(event[i]): (float(hits["k_bs"][i]), float(hits["k_med"][i])) for i in last}
    hvl_of = {b.beam.index: float(h) for b, h in zip(beams, hvl)}
    return dose, {int(e): BeamOnSkin(peak_mGy=float(peak[i]), area_cm2=float(area[i]), k_isq_max=float(k_isq_max[i]),
                                     through_table=bool(through[i]), k_bs=at_peak.get(i, (None, None))[0],
                                     k_med=at_peak.get(i, (None, None))[1], hvl_mmAl=hvl_of[int(e)])
                  for i, e in enumerate(events)}
