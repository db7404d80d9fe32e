"""Where each beam is relative to the patient: the settings (``Geometry``) and the placement of beams (``place``).

Frames. The *equipment* frame has its origin at the isocentre: +x toward the patient's left, +y toward the head
(for a patient head first supine: DICOM's directions of table longitudinal and lateral positions, TID 10003B),
+z up. The *table* frame, in which the phantom lies still, is the equipment frame at the reference table
position, with its origin moved down to the table top: when the table moves by (dx, dy) and its top is h below
the isocentre, the isocentre is at (-dx, -dy, h) in the table frame. Lengths in cm.

Conventions taken from the DICOM standard, the same for every manufacturer (no vendor tables):

* Positioner angles (PS3.3 C.8.7.5.1.2) name where the detector is, relative to the patient: primary +90° at
  the patient's left (LAO), secondary +90° toward the head (CRA); 0°/0° has the detector above a supine
  patient's chest (a PA beam). The detector direction is (sin a cos b, sin b, cos a cos b) in the patient's
  (left, head, anterior) axes; the source is opposite, at the source-to-isocentre distance.
* The patient's axes follow the reported orientation (head/feet first, supine/prone; DICOM's default head
  first supine when the report says nothing); table positions are in the equipment's axes.
* Table longitudinal position (DCM 113751) is positive toward the patient's left, lateral position (DCM 113752)
  toward the head, height (DCM 113753) downwards; all three "with respect to an arbitrary reference chosen by
  the equipment". So only their changes are used along the table and across it: the beams are placed relative
  to the Ka,r-weighted median position of the study, which is put at the phantom's centre (an operator centres
  the region being treated). The height is used as the table top's distance below the isocentre when every
  reported value lies in 0..``table_height_below_isocentre_max_mm`` (as Siemens reports it and PySkinDose reads
  it); otherwise (e.g. Philips' height above the floor, or no height) the patient is taken as centred on the
  isocentre at the reference height and only changes of height are used.
* A rotational acquisition (primary or secondary end angle reported, DCM 113739 / 113740) is spread over beam
  positions from the start to the end angles at most ``rotation_step_deg`` apart, each with an equal share of
  the event's Ka,r.
* Table tilts and rotation (DCM 113754-113756) turn the table and patient about the isocentre: horizontal
  rotation clockwise seen from above, head tilt raising the head end, cradle tilt raising the left side.
* The collimated field's width (DCM 113789) lies along the patient's left-right axis at 0°/0° and its height
  (DCM 113788) along the head-feet axis; both, and the collimated field area (DCM 113790), are at the detector
  plane. Without them the field at the reference point is DAP / Ka,r (both stated at that point), a square.
* Ka,r is stated at the reference point: the report's distance source-to-reference point (DCM 113737), else
  the distance its Reference Point Definition (DCM 113780) gives (``data/reference_points.csv``), else the
  IEC 60601-2-43 interventional reference point, 15 cm from the isocentre toward the source.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from .beams import Beam
from .tables import by_name, rows

PHANTOMS = ("plane", "cylinder", "elliptic")


@dataclass(frozen=True)
class Geometry:
    """Settings of the skin-dose model (lengths in cm); defaults and sources in ``data/geometry_defaults.csv``.

    ``phantom``: ``plane`` (the patient's back as a flat rectangle on the mattress), ``cylinder`` (an elliptic
    cylinder of fixed size, PySkinDose's) or ``elliptic`` (an elliptic cylinder sized to the patient's height and
    weight when the report gives them). ``sized_to_patient`` False keeps every dimension as set.
    """

    phantom: str
    grid_cm: float
    plane_length_cm: float
    cylinder_length_cm: float
    semi_axis_lateral_cm: float
    semi_axis_ap_cm: float
    table_width_cm: float
    pad_thickness_cm: float
    table_transmission: float
    inherent_filtration_mmAl: float
    reference_height_cm: float
    reference_weight_kg: float
    irp_from_isocentre_cm: float
    table_height_below_isocentre_max_mm: float
    rotation_step_deg: float
    source_skin_min_cm: float
    sized_to_patient: bool = True
    source: str = "Kerma's defaults (PySkinDose's example geometry, sized to the patient when known)"

    def __post_init__(self):
        if self.phantom not in PHANTOMS:
            raise ValueError(f"phantom must be one of {', '.join(PHANTOMS)}, not {self.phantom!r}")
        for name in ("grid_cm", "rotation_step_deg", "plane_length_cm", "cylinder_length_cm", "semi_axis_lateral_cm", "semi_axis_ap_cm",
                     "table_width_cm", "reference_height_cm", "reference_weight_kg"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        if not 0 < self.table_transmission <= 1:
            raise ValueError("table_transmission must be in (0, 1]")

    @classmethod
    def defaults(cls, phantom: str = "elliptic", pyskindose: bool = False, **changes) -> "Geometry":
        """Kerma's defaults, or PySkinDose's example settings as they are (``pyskindose=True``)."""
        values = {name: float(row["value"]) for name, row in by_name("geometry_defaults.csv").items()}
        geometry = cls(phantom=phantom, **values)
        if pyskindose:
            geometry = replace(geometry, sized_to_patient=False,
                               source="PySkinDose's example settings (settings_example.json), not sized to the patient")
        return replace(geometry, **changes) if changes else geometry


@dataclass(frozen=True)
class PlacedBeam:
    """A beam in the table frame (cm): source position, unit vectors across (u), along (v) and down the beam (w),
    the half-field tangents, the reference point distance and how the field side grows with distance.

    ``ka_r_mGy`` is the event's Ka,r, or its share at this position of a rotational acquisition."""

    beam: Beam
    ka_r_mGy: float
    source: np.ndarray
    e_u: np.ndarray
    e_v: np.ndarray
    e_w: np.ndarray
    tan_u: float
    tan_v: float
    rp_distance_cm: float
    side_per_cm: float
    field_estimated: bool = False
    assumed: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Placement:
    placed: tuple[PlacedBeam, ...]
    unplaced: tuple[tuple[Beam, str], ...]
    height_absolute: bool
    table_position_known: bool


def detector_frame(primary_deg: float, secondary_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(e_u, e_v, e_w) in the patient's (left, head, anterior) axes: e_w from the source to the detector."""
    a, b = math.radians(primary_deg), math.radians(secondary_deg)
    e_w = np.array([math.sin(a) * math.cos(b), math.sin(b), math.cos(a) * math.cos(b)])
    e_u = np.array([math.cos(a), 0.0, -math.sin(a)])
    e_v = np.array([-math.sin(a) * math.sin(b), math.cos(b), -math.cos(a) * math.sin(b)])
    return e_u, e_v, e_w


def table_rotation(beam: Beam) -> np.ndarray:
    """Rotation of the table (and patient) about the isocentre, equipment frame."""
    def rz(t):
        c, s = math.cos(t), math.sin(t)
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])

    def rx(t):
        c, s = math.cos(t), math.sin(t)
        return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])

    def ry(t):
        c, s = math.cos(t), math.sin(t)
        return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])

    horizontal = math.radians(beam.table_horizontal_rotation_deg or 0.0)
    head = math.radians(beam.table_head_tilt_deg or 0.0)
    cradle = math.radians(beam.table_cradle_tilt_deg or 0.0)
    # clockwise seen from above is negative about +z; head up turns +y toward +z; left (+x) up is negative about +y
    return rz(-horizontal) @ rx(head) @ ry(-cradle)


def _number_in(text: str) -> float | None:
    match = re.search(r"(\d+(?:\.\d+)?)\s*cm", text, re.I)
    return float(match.group(1)) if match else None


def reference_point_distance_cm(beam: Beam, geometry: Geometry) -> tuple[float | None, str | None]:
    """Source-to-reference-point distance (cm) and what was assumed to get it (``None`` when it is reported)."""
    dsi = None if beam.source_isocentre_mm is None else beam.source_isocentre_mm / 10
    if beam.source_rp_mm is not None and (beam.sid_mm is None or beam.source_rp_mm < beam.sid_mm):
        return beam.source_rp_mm / 10, None
    text = beam.reference_point or ""
    offset = _number_in(text)
    for row in rows("reference_points.csv"):
        if offset is not None and re.search(row["pattern"], text, re.I):
            if row["origin"] == "isocentre" and dsi is not None and offset < dsi:
                return dsi - offset, None
            if row["origin"] == "detector" and beam.sid_mm is not None and offset < beam.sid_mm / 10:
                return beam.sid_mm / 10 - offset, None
    if dsi is None:
        return None, None
    why = (f"reference point '{text}' not understood" if text else "no reference point defined")
    return (dsi - geometry.irp_from_isocentre_cm,
            f"{why}: the IEC 60601-2-43 interventional reference point ({geometry.irp_from_isocentre_cm:g} cm from "
            "the isocentre toward the source) assumed")


def field_tangents(beam: Beam, rp_distance_cm: float | None) -> tuple[float, float, str | None] | None:
    """Half-field tangents across and along the beam, and the assumption made (``None`` when measured)."""
    sid = beam.sid_mm
    if sid and beam.field_width_mm and beam.field_height_mm:
        return beam.field_width_mm / 2 / sid, beam.field_height_mm / 2 / sid, None
    if sid and beam.field_area_cm2:
        half = math.sqrt(beam.field_area_cm2) * 10 / 2 / sid
        return half, half, "field taken as a square of the collimated field area"
    if rp_distance_cm and beam.dap_Gycm2 and beam.ka_r_mGy:
        area_cm2 = beam.dap_Gycm2 * 1000 / beam.ka_r_mGy  # DAP (Gy.cm2 -> mGy.cm2) / Ka,r at the reference point
        half = math.sqrt(area_cm2) / 2 / rp_distance_cm
        if 0 < half < 0.5:
            return half, half, "field size estimated as a square of DAP / Ka,r at the reference point"
    return None


def _angles(beam: Beam) -> tuple[tuple[float, float], tuple[float, float]]:
    """(primary, secondary) at the start and at the end of the event (the same unless it is rotational)."""
    start = (beam.primary_angle_deg, beam.secondary_angle_deg or 0.0)
    end = (beam.primary_end_angle_deg if beam.primary_end_angle_deg is not None else start[0],
           beam.secondary_end_angle_deg if beam.secondary_end_angle_deg is not None else start[1])
    return start, end


def beam_positions(beam: Beam, step_deg: float) -> list[tuple[float, float]]:
    """(primary, secondary) angles of the beam: one, or the middles of equal steps from the start to the end angles
    of a rotational acquisition, no step longer than ``step_deg``."""
    start, end = _angles(beam)
    steps = math.ceil(max(abs(end[0] - start[0]), abs(end[1] - start[1])) / step_deg - 1e-9)
    if steps <= 1:
        return [start]
    return [(start[0] + (end[0] - start[0]) * (k + 0.5) / steps, start[1] + (end[1] - start[1]) * (k + 0.5) / steps)
            for k in range(steps)]


def _weighted_median(values: list[float], weights: list[float]) -> float:
    order = np.argsort(values)
    v, w = np.asarray(values)[order], np.asarray(weights)[order]
    cumulative = np.cumsum(w)
    return float(v[np.searchsorted(cumulative, cumulative[-1] / 2)])


def place(beams: list[Beam], geometry: Geometry, centre_depth_cm: float) -> Placement:
    """Put every beam with Ka,r > 0 and enough geometry into the table frame; the others come back with the reason.

    ``centre_depth_cm`` is the table top's depth below the isocentre that puts the phantom's centre on the
    isocentre (mattress plus half the patient's thickness): used when the reported height is a vendor reference.
    """
    ready: list[tuple[Beam, float, float, float, bool, list[str]]] = []
    unplaced: list[tuple[Beam, str]] = []
    for beam in beams:
        assumed: list[str] = []
        if beam.primary_angle_deg is None:
            unplaced.append((beam, "no positioner angles"))
            continue
        if beam.source_isocentre_mm is None:
            unplaced.append((beam, "no source-to-isocentre distance"))
            continue
        rp, why = reference_point_distance_cm(beam, geometry)
        if why:
            assumed.append(why)
        tangents = field_tangents(beam, rp)
        if tangents is None:
            unplaced.append((beam, "no collimated field and no DAP / Ka,r to estimate it"))
            continue
        tan_u, tan_v, field_why = tangents
        if field_why:
            assumed.append(field_why)
        if beam.secondary_angle_deg is None:
            assumed.append("secondary angle not reported: 0° assumed")
        ready.append((beam, rp, tan_u, tan_v, field_why is not None, assumed))

    weights = [b.ka_r_mGy for b, *_ in ready]

    def reference(attribute: str) -> float | None:
        known = [(getattr(b, attribute), w) for (b, *_), w in zip(ready, weights) if getattr(b, attribute) is not None]
        return _weighted_median([v for v, _ in known], [w for _, w in known]) if known else None

    ref_long, ref_lat, ref_height = (reference(a) for a in
                                     ("table_longitudinal_mm", "table_lateral_mm", "table_height_mm"))
    heights = [b.table_height_mm for b, *_ in ready if b.table_height_mm is not None]
    height_absolute = bool(heights) and all(0 <= h <= geometry.table_height_below_isocentre_max_mm for h in heights)

    placed = []
    for beam, rp, tan_u, tan_v, field_estimated, assumed in ready:
        dx = 0.0 if beam.table_longitudinal_mm is None else (beam.table_longitudinal_mm - ref_long) / 10
        dy = 0.0 if beam.table_lateral_mm is None else (beam.table_lateral_mm - ref_lat) / 10
        if (beam.table_longitudinal_mm is None) != (ref_long is None) or \
                (beam.table_lateral_mm is None) != (ref_lat is None):
            assumed.append("table position not reported for this event: the study's reference position assumed")
        if height_absolute:
            depth = beam.table_height_mm / 10 if beam.table_height_mm is not None else ref_height / 10
        else:
            depth = centre_depth_cm + (0.0 if beam.table_height_mm is None else (beam.table_height_mm - ref_height) / 10)
        if beam.table_height_mm is None and heights:
            assumed.append("table height not reported for this event: the study's reference height assumed")
        signs = np.array(beam.orientation.signs, dtype=float)
        rotation = table_rotation(beam)
        origin = np.array([dx, dy, -depth])
        positions = beam_positions(beam, geometry.rotation_step_deg)
        if len(positions) > 1:
            (a0, b0), (a1, b1) = _angles(beam)
            assumed.append(f"rotational acquisition, primary {a0:g}° to {a1:g}°, secondary {b0:g}° to {b1:g}°: "
                           f"spread over {len(positions)} beam positions")
        for primary, secondary in positions:
            e_u, e_v, e_w = (signs * v for v in detector_frame(primary, secondary))
            source = rotation.T @ (-beam.source_isocentre_mm / 10 * e_w) - origin
            placed.append(PlacedBeam(
                beam=beam, ka_r_mGy=beam.ka_r_mGy / len(positions), source=source, e_u=rotation.T @ e_u,
                e_v=rotation.T @ e_v, e_w=rotation.T @ e_w, tan_u=tan_u, tan_v=tan_v, rp_distance_cm=rp,
                side_per_cm=2 * math.sqrt(tan_u * tan_v), field_estimated=field_estimated, assumed=tuple(assumed)))
    return Placement(placed=tuple(placed), unplaced=tuple(unplaced), height_absolute=height_absolute,
                     table_position_known=ref_long is not None or ref_lat is not None)
