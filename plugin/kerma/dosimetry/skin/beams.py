"""The skin-dose model's inputs: one ``Beam`` per irradiation event, the ``Patient``, read once from a dose record.

The record is what ``kerma.extract.extract`` returns for a projection RDSR (TID 10001 / 10003): ``events`` with
their TID 10003 / 10003A / 10003B values in Kerma's field names and units, ``patient`` and ``totals``. This module
is the only place that knows those names: the rest of the model works on the typed, checked values here. A value
outside its physical range (``data/plausible_ranges.csv``) is not used, and the beam says which and why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ...record import DoseRecord
from .tables import by_name

_RANGES = "plausible_ranges.csv"


@dataclass(frozen=True)
class Orientation:
    """How the patient lies on the table (TID 10003: DCM 113743, 113744, 113745).

    ``head_first`` and ``supine`` are the two choices the model distinguishes; DICOM's default
    interpretation of table and angle directions is head first, supine.
    """

    head_first: bool = True
    supine: bool = True
    stated: bool = False

    @property
    def label(self) -> str:
        return ("head first" if self.head_first else "feet first") + (", supine" if self.supine else ", prone")

    @property
    def signs(self) -> tuple[int, int, int]:
        """Table-frame direction of the patient's left, head and anterior (each +1 or -1)."""
        if self.head_first:
            return (1, 1, 1) if self.supine else (-1, 1, -1)
        return (-1, -1, 1) if self.supine else (1, -1, -1)


@dataclass(frozen=True)
class Beam:
    """One irradiation event as the skin-dose model uses it; ``None`` is absent (or refused, see ``refused``).

    Lengths in mm, angles in degrees, as the report gives them. Directions (DICOM PS3.3 C.8.7.5.1.2, TID 10003B):
    the primary angle is positive toward the patient's left (LAO), the secondary toward the head (CRA), both
    naming where the detector is (the end angles, DCM 113739 / 113740, end a rotational acquisition); table longitudinal position is positive toward the patient's left and lateral
    position toward the head, for a patient head first supine; table height is positive downwards.
    """

    index: int
    uid: str | None
    event_type: str | None
    plane: str | None
    ka_r_mGy: float | None
    dap_Gycm2: float | None
    kvp: float | None
    primary_angle_deg: float | None
    secondary_angle_deg: float | None
    primary_end_angle_deg: float | None
    secondary_end_angle_deg: float | None
    sid_mm: float | None
    source_isocentre_mm: float | None
    source_rp_mm: float | None
    reference_point: str | None
    table_longitudinal_mm: float | None
    table_lateral_mm: float | None
    table_height_mm: float | None
    table_head_tilt_deg: float | None
    table_horizontal_rotation_deg: float | None
    table_cradle_tilt_deg: float | None
    field_width_mm: float | None
    field_height_mm: float | None
    field_area_cm2: float | None
    copper_mm: float
    aluminium_mm: float
    orientation: Orientation
    refused: tuple[str, ...] = ()


@dataclass(frozen=True)
class Patient:
    height_cm: float | None = None
    weight_kg: float | None = None


@dataclass(frozen=True)
class Study:
    """What the model needs from one dose report."""

    beams: tuple[Beam, ...]
    patient: Patient
    ka_r_total_mGy: float | None
    notes: tuple[str, ...]


def _number(value, field: str, refused: list[str], range_field: str | None = None) -> float | None:
    """``value`` as a float when it is a finite number within its plausible range, else ``None``."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        refused.append(f"{field} {value!r} is not a number")
        return None
    limits = by_name(_RANGES, "field").get(range_field or field)
    if not math.isfinite(x):
        refused.append(f"{field} is not finite")
        return None
    if limits and not float(limits["min"]) <= x <= float(limits["max"]):
        refused.append(f"{field} {x:g} outside {limits['min']}..{limits['max']} {limits['unit']}")
        return None
    return x


_COPPER = re.compile(r"copper|\bcu\b", re.I)
_ALUMINIUM = re.compile(r"alumin", re.I)


def _filtration(filters, refused: list[str]) -> tuple[float, float]:
    """Added copper and aluminium (mm) of an event's X-Ray Filters (TID 10003A); each filter's mean thickness."""
    copper = aluminium = 0.0
    for f in filters or ():
        material = str(f.get("material") or "")
        thicknesses = [t for t in (_number(f.get("thickness_min_mm"), "filter thickness", refused, "filter_thickness_mm"),
                                   _number(f.get("thickness_max_mm"), "filter thickness", refused, "filter_thickness_mm"))
                       if t is not None]
        if not thicknesses:
            continue
        mean = sum(thicknesses) / len(thicknesses)
        if _COPPER.search(material):
            copper += mean
        elif _ALUMINIUM.search(material):
            aluminium += mean
    return copper, aluminium


def _orientation(event: dict) -> Orientation:
    words = " ".join(str(event.get(k) or "") for k in
                     ("patient_table_relationship", "patient_orientation_modifier")).lower().replace("-", "").replace(" ", "")
    head_first = "feetfirst" not in words
    supine = "prone" not in words
    stated = any(w in words for w in ("headfirst", "feetfirst", "supine", "prone"))
    return Orientation(head_first=head_first, supine=supine, stated=stated)


# Beam attribute <- record event field (TID 10003 / 10003A / 10003B, in Kerma's names and units)
NUMBERS = {
    "ka_r_mGy": "ka_r_mGy", "dap_Gycm2": "dap_Gycm2", "kvp": "kvp",
    "primary_angle_deg": "primary_angle_deg", "secondary_angle_deg": "secondary_angle_deg",
    "primary_end_angle_deg": "primary_end_angle_deg", "secondary_end_angle_deg": "secondary_end_angle_deg",
    "sid_mm": "sid_mm", "source_isocentre_mm": "source_isocenter_distance_mm", "source_rp_mm": "source_rp_distance_mm",
    "table_longitudinal_mm": "table_longitudinal_mm", "table_lateral_mm": "table_lateral_mm",
    "table_height_mm": "table_height_mm", "table_head_tilt_deg": "table_head_tilt_deg",
    "table_horizontal_rotation_deg": "table_horizontal_rotation_deg", "table_cradle_tilt_deg": "table_cradle_tilt_deg",
    "field_width_mm": "collimated_field_width_mm", "field_height_mm": "collimated_field_height_mm",
    "field_area_cm2": "collimated_field_area_cm2",
}


def beam_from_event(index: int, event: Mapping) -> Beam:
    """The ``Beam`` of one event of the record (``record.events[index]``)."""
    refused: list[str] = []
    numbers = {attribute: _number(event.get(name), name, refused) for attribute, name in NUMBERS.items()}
    copper, aluminium = _filtration(event.get("filters"), refused)
    return Beam(index=index, uid=event.get("irradiation_event_uid"), event_type=event.get("event_type"),
                plane=event.get("plane"), reference_point=event.get("reference_point_definition"),
                copper_mm=copper, aluminium_mm=aluminium, orientation=_orientation(event), refused=tuple(refused),
                **numbers)


def study_from_record(record: DoseRecord) -> Study:
    """The model's inputs from one extracted dose record (``kerma.extract.extract``)."""
    beams = tuple(beam_from_event(i, e) for i, e in enumerate(record.events))
    notes: list[str] = []
    person = record.patient
    refused: list[str] = []
    height_m = _number(person.height_m, "patient height", refused, None)
    height_cm = _number(None if height_m is None else height_m * 100, "patient height", refused, "height_cm")
    weight_kg = _number(person.weight_kg, "patient weight", refused, "weight_kg")
    notes += [f"patient: {r}: not used" for r in refused]
    totals = record.totals or {}
    total_refused: list[str] = []
    ka_r_total = _number(totals.get("ka_r_total_mGy"), "Ka,r total", total_refused, "ka_r_mGy")
    notes += [f"totals: {r}: not used" for r in total_refused]
    return Study(beams=beams, patient=Patient(height_cm, weight_kg), ka_r_total_mGy=ka_r_total, notes=tuple(notes))
