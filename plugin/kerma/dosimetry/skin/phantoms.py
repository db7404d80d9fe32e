"""Patient phantoms as grids of skin cells in the table frame (cm; see ``geometry``): a plane and an elliptic cylinder.

Both lie on the mattress, centred across the table; the isocentre at the reference table position is above the
middle of their length. Each cell has its centre, its two edge directions and lengths (so that a beam can cover
part of a cell), and, for the cylinder, its outward normal (only cells facing the source are entrance skin).

Sizing (``body_ellipse``): the reference adult (``geometry_defaults.csv``: ICRP 89 male, 176 cm, 73 kg) has
PySkinDose's 40 cm × 20 cm cross-section. For another patient the cross-section's area scales with weight /
height (a body of the same density and shape has a mean cross-section proportional to mass / length) and the
length with height; the width-to-thickness ratio stays 2. A missing weight is taken at the reference adult's
weight-for-height (same BMI), a missing height as the reference height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .beams import Patient
from .geometry import Geometry

BLOCK = 6


@dataclass(frozen=True)
class Body:
    """Dimensions of the phantom (cm) and how they were chosen."""

    semi_axis_lateral_cm: float
    semi_axis_ap_cm: float
    length_scale: float
    note: str | None


@dataclass(frozen=True)
class Tiles:
    """Cells grouped in tiles: centres, radii reaching every member cell's corners, member cell indices (one row
    per tile, padded with -1) and, on a cylinder, the mean outward normal and the largest angle of a member's
    normal from it (radians)."""

    centres: np.ndarray
    radii: np.ndarray
    members: np.ndarray
    normals: np.ndarray | None
    spread: np.ndarray | None


@dataclass(frozen=True, eq=False)
class SkinGrid:
    """Skin cells of a phantom; arrays are per cell, ordered row by row (rows along the table's +y)."""

    kind: str
    description: str
    points: np.ndarray
    normals: np.ndarray | None
    tangent_1: np.ndarray
    tangent_2: np.ndarray
    size_1: np.ndarray
    size_2: np.ndarray
    rows_cm: np.ndarray
    cols_cm: np.ndarray
    perimeter_cm: float | None = None
    ellipse: tuple[float, float, float] | None = None  # cylinder: semi-axes across and up, height of the axis

    @cached_property
    def tiles(self) -> "Tiles":
        """The cells grouped in tiles of up to ``BLOCK`` × ``BLOCK``: a beam is first tested against the tiles, then
        only the cells of the tiles it may reach are."""
        rows, cols = self.shape
        index = np.arange(rows * cols).reshape(rows, cols)
        tiles = [index[r:r + BLOCK, c:c + BLOCK].ravel() for r in range(0, rows, BLOCK) for c in range(0, cols, BLOCK)]
        members = np.full((len(tiles), BLOCK * BLOCK), -1)
        for row, tile in zip(members, tiles):
            row[:len(tile)] = tile
        centres = np.array([self.points[t].mean(axis=0) for t in tiles])
        corner = np.hypot(self.size_1, self.size_2) / 2
        radii = np.array([np.max(np.linalg.norm(self.points[t] - c, axis=1) + corner[t]) for t, c in zip(tiles, centres)])
        if self.normals is None:
            return Tiles(centres, radii, members, None, None)
        normals = np.array([self.normals[t].mean(axis=0) for t in tiles])
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        spread = np.array([np.max(np.arccos(np.clip(self.normals[t] @ n, -1.0, 1.0))) for t, n in zip(tiles, normals)])
        return Tiles(centres, radii, members, normals, spread)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows_cm), len(self.cols_cm)

    @property
    def cell_area_cm2(self) -> np.ndarray:
        return self.size_1 * self.size_2

    def contains(self, point: np.ndarray, margin_cm: float) -> bool:
        """Whether ``point`` is within ``margin_cm`` of the phantom's skin or inside it."""
        x, y, z = point
        if abs(y) > np.max(np.abs(self.rows_cm)) + margin_cm:
            return False
        if self.ellipse is None:
            return abs(z - self.points[0, 2]) < margin_cm and abs(x) <= np.max(np.abs(self.cols_cm)) + margin_cm
        a, b, zc = self.ellipse
        return (x / (a + margin_cm)) ** 2 + ((z - zc) / (b + margin_cm)) ** 2 <= 1


def body_ellipse(patient: Patient, geometry: Geometry, sized: bool) -> Body:
    """The patient's cross-section (semi-axes) and length scale; reference dimensions when not ``sized``."""
    a, b = geometry.semi_axis_lateral_cm, geometry.semi_axis_ap_cm
    if not sized:
        return Body(a, b, 1.0, None)
    if patient.height_cm is None and patient.weight_kg is None:
        return Body(a, b, 1.0, f"patient height and weight not reported: the reference adult "
                               f"({geometry.reference_height_cm:g} cm, {geometry.reference_weight_kg:g} kg) assumed")
    height = patient.height_cm or geometry.reference_height_cm
    weight = patient.weight_kg or geometry.reference_weight_kg * (height / geometry.reference_height_cm) ** 2
    scale = (weight / height) / (geometry.reference_weight_kg / geometry.reference_height_cm)
    missing = [name for name, value in (("height", patient.height_cm), ("weight", patient.weight_kg)) if value is None]
    note = (f"patient {missing[0]} not reported: "
            + ("the reference height assumed" if missing[0] == "height" else "the reference adult's BMI assumed")
            if missing else None)
    return Body(a * math.sqrt(scale), b * math.sqrt(scale), height / geometry.reference_height_cm, note)


def _centres(length: float, step: float) -> np.ndarray:
    half = max(int(math.floor(length / 2 / step)), 0)
    return np.arange(-half, half + 1) * step


def plane(width_cm: float, length_cm: float, grid_cm: float, height_cm: float) -> SkinGrid:
    """A flat rectangle at ``height_cm`` above the table top (the patient's back on the mattress)."""
    xs, ys = _centres(width_cm, grid_cm), _centres(length_cm, grid_cm)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    n = yy.size
    points = np.column_stack([xx.ravel(), yy.ravel(), np.full(n, height_cm)])
    return SkinGrid(
        kind="plane", description=f"plane {width_cm:.0f} cm × {length_cm:.0f} cm at the mattress",
        points=points, normals=None,
        tangent_1=np.tile([1.0, 0.0, 0.0], (n, 1)), tangent_2=np.tile([0.0, 1.0, 0.0], (n, 1)),
        size_1=np.full(n, grid_cm), size_2=np.full(n, grid_cm), rows_cm=ys, cols_cm=xs)


def elliptic_cylinder(a_cm: float, b_cm: float, length_cm: float, grid_cm: float, bottom_cm: float,
                      kind: str = "elliptic") -> SkinGrid:
    """An elliptic cylinder along the table, semi-axes ``a_cm`` across and ``b_cm`` up, resting at ``bottom_cm``.

    Columns are equally spaced along the perimeter, starting at the top (+z) and going toward +x.
    """
    centre = bottom_cm + b_cm
    fine = np.linspace(0.0, 2 * math.pi, 4097)
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(a_cm * np.diff(np.sin(fine)), b_cm * np.diff(np.cos(fine))))])
    perimeter = float(arc[-1])
    columns = max(8, 2 * int(round(perimeter / grid_cm / 2)))  # even: one column at the bottom
    s = np.arange(columns) * perimeter / columns
    theta = np.interp(s, arc, fine)
    ys = _centres(length_cm, grid_cm)
    tt, yy = np.meshgrid(theta, ys)
    tt, yy = tt.ravel(), yy.ravel()
    n = tt.size
    points = np.column_stack([a_cm * np.sin(tt), yy, centre + b_cm * np.cos(tt)])
    normals = np.column_stack([np.sin(tt) / a_cm, np.zeros(n), np.cos(tt) / b_cm])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    tangents = np.column_stack([a_cm * np.cos(tt), np.zeros(n), -b_cm * np.sin(tt)])
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    return SkinGrid(
        kind=kind, description=f"elliptic cylinder {2 * a_cm:.0f} cm × {2 * b_cm:.0f} cm, {length_cm:.0f} cm long",
        points=points, normals=normals, tangent_1=tangents, tangent_2=np.tile([0.0, 1.0, 0.0], (n, 1)),
        size_1=np.full(n, perimeter / columns), size_2=np.full(n, grid_cm), rows_cm=ys, cols_cm=s,
        perimeter_cm=perimeter, ellipse=(a_cm, b_cm, centre))


def phantom_for(patient: Patient, geometry: Geometry) -> tuple[SkinGrid, Body]:
    """The skin grid of ``geometry.phantom`` for this patient, and the body dimensions it was built from."""
    fixed = geometry.phantom == "cylinder"
    body = body_ellipse(patient, geometry, geometry.sized_to_patient and not fixed)
    pad = geometry.pad_thickness_cm
    if geometry.phantom == "plane":
        grid = plane(2 * body.semi_axis_lateral_cm, geometry.plane_length_cm * body.length_scale, geometry.grid_cm, pad)
    else:
        grid = elliptic_cylinder(body.semi_axis_lateral_cm, body.semi_axis_ap_cm,
                                 geometry.cylinder_length_cm * body.length_scale, geometry.grid_cm, pad,
                                 kind=geometry.phantom)
    return grid, body
