"""The estimate: place the beams, map them on the phantom, bound the rest, say how sure it is.

Events without the geometry to place them (no positioner angles, no source-to-isocentre distance, no field
size; a source inside the phantom) are not dropped: each adds an upper estimate to the PSD, K_a,r × k_bs × k_med
at the reference point, as if the skin were there (no inverse-square reduction, no table) and every such
beam hit the map's peak cell. Its field side at the reference point is DAP / Ka,r when known, else the largest
tabulated (35 cm: the most backscatter); an unknown kVp takes the kVp with the largest k_bs × k_med. A report
with no event Ka,r but a total Ka,r is bounded the same way with the largest factor of any tabulated beam.
That bound assumes the skin is not closer to the source than the reference point.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from . import corrections
from .beams import Beam, Orientation, Study
from .dosemap import accumulate
from .geometry import Geometry, PlacedBeam, field_tangents, place, reference_point_distance_cm
from .phantoms import SkinGrid, phantom_for
from .result import EventDose, SkinDoseResult
from .uncertainty import uncertainty


def bound_factor(beam: Beam, geometry: Geometry) -> float:
    """k_bs × k_med of a beam without geometry, at its field side at the reference point (or the largest)."""
    if beam.dap_Gycm2 and beam.ka_r_mGy:
        side = math.sqrt(beam.dap_Gycm2 * 1000 / beam.ka_r_mGy)
    else:
        rp, _ = reference_point_distance_cm(beam, geometry)
        tangents = field_tangents(beam, rp) if rp else None
        side = 2 * math.sqrt(tangents[0] * tangents[1]) * rp if tangents else float(corrections.FIELD_SIDES_CM[-1])
    if beam.kvp is None:
        return corrections.largest_over_kvp(beam.copper_mm, beam.aluminium_mm, geometry.inherent_filtration_mmAl, side)
    hvl = corrections.hvl_mmAl([beam.kvp], [beam.copper_mm], [beam.aluminium_mm], geometry.inherent_filtration_mmAl)
    product = corrections.backscatter([beam.kvp], hvl) * corrections.mu_en_ratio([beam.kvp], hvl)
    return float(corrections.at_field_side(product[0], side))


def _patient_view(grid: SkinGrid, dose: np.ndarray, orientation: Orientation):
    """The map as seen from the patient: rows toward the head, columns as labelled."""
    left, head, anterior = orientation.signs
    image = dose.reshape(grid.shape)
    rows = grid.rows_cm * head
    if head < 0:
        image, rows = image[::-1], rows[::-1]
    if grid.perimeter_cm is None:
        cols = grid.cols_cm * left
        if left < 0:
            image, cols = image[:, ::-1], cols[::-1]
        return image, rows, cols, "cm toward the patient's left", ()
    front, back = ("anterior", "posterior") if anterior > 0 else ("posterior", "anterior")
    toward, other = ("left", "right") if left > 0 else ("right", "left")
    p = grid.perimeter_cm
    ticks = ((0.0, front), (p / 4, toward), (p / 2, back), (3 * p / 4, other))
    return image, rows, grid.cols_cm, f"cm along the skin from the {front} midline toward the patient's {toward}", ticks


def _event_statements(events: list[EventDose], study: Study, phantom: str, from_above: bool) -> list[str]:
    """What the events leave missing or assumed, in words."""
    statements = []
    missed = [e for e in events if e.method == "missed"]
    bounded = [e for e in events if e.method == "bound"]
    if bounded:
        statements.append(f"{len(bounded)} event(s), Ka,r {sum(e.ka_r_mGy for e in bounded):.4g} mGy, without usable "
                          "geometry: added as an upper estimate (skin at the reference point, every beam on the peak)")
    if missed:
        statements.append(f"{len(missed)} event(s), Ka,r {sum(e.ka_r_mGy for e in missed):.4g} mGy, reach none of the "
                          f"{phantom} phantom's skin (e.g. lateral beams on a plane): not in the map")
    if from_above:
        statements.append("beams from above the patient are put on the plane at the mattress: their skin dose is "
                          "understated; the elliptic phantom models the front and sides")
    if any(b.kvp is None and b.ka_r_mGy for b in study.beams):
        statements.append("kVp not reported for some events: the kVp with the largest backscatter × tissue-to-air energy absorption ratio used")
    refused = sum(bool(b.refused) for b in study.beams)
    if refused:
        statements.append(f"{refused} event(s) carry values outside their physical range, which were not used")
    return statements


def _method(phantom: str, mapped: bool, bounded: int, estimated: bool) -> str:
    if not estimated:
        return "not estimated: the report gives no Ka,r"
    on_map = f"skin dose map on the {phantom} (per skin cell: Ka,r × inverse square × backscatter × tissue-to-air energy absorption ratio × table and mattress transmission)"
    if mapped and bounded:
        return f"{on_map}, plus an upper estimate for {bounded} event(s) without geometry"
    if mapped:
        return on_map
    return "upper estimate without geometry: Σ Ka,r × backscatter × tissue-to-air energy absorption ratio at the reference point"


def estimate_study(study: Study, geometry: Geometry) -> SkinDoseResult:
    """Peak skin dose, map, events and uncertainty of one study under ``geometry``."""
    grid, body = phantom_for(study.patient, geometry)
    reasons: list[str] = [body.note] if body.note else []
    conditions: set[str] = set()
    dosed = [b for b in study.beams if b.ka_r_mGy]
    events: dict[int, EventDose] = {
        b.index: EventDose(b.index, b.uid, b.ka_r_mGy, "no dose", None,
                           b.refused + (("no Ka,r reported",) if b.ka_r_mGy is None else ("Ka,r is 0",)))
        for b in study.beams if not b.ka_r_mGy}

    orientations = Counter(b.orientation for b in dosed)
    orientation = orientations.most_common(1)[0][0] if orientations else Orientation()
    if dosed and not any(o.stated for o in orientations):
        reasons.append("patient orientation not reported: head first supine assumed (DICOM's default)")

    placement = place(dosed, geometry, geometry.pad_thickness_cm + body.semi_axis_ap_cm)
    unplaced = list(placement.unplaced)
    too_close = {p.beam.index for p in placement.placed if grid.contains(p.source, geometry.source_skin_min_cm)}
    for index in sorted(too_close):
        beam = next(p.beam for p in placement.placed if p.beam.index == index)
        unplaced.append((beam, f"source within {geometry.source_skin_min_cm:g} cm of the phantom's skin"))
    placed: list[PlacedBeam] = [p for p in placement.placed if p.beam.index not in too_close]
    first = {p.beam.index: p for p in reversed(placed)}  # each event's first position: its assumptions

    dose, shares = accumulate(placed, grid, geometry)
    for index, share in shares.items():
        beam = first[index]
        b = beam.beam
        missed = share.area_cm2 <= 0
        events[b.index] = EventDose(
            b.index, b.uid, b.ka_r_mGy, "missed" if missed else "map", share.peak_mGy,
            b.refused + beam.assumed + (("the beam reaches none of the phantom's skin",) if missed else ()),
            k_isq_max=share.k_isq_max, k_bs=share.k_bs, k_med=share.k_med, hvl_mmAl=share.hvl_mmAl,
            through_table=share.through_table, area_cm2=share.area_cm2)
        if beam.field_estimated:
            conditions.add("estimated_field")
        if share.through_table:
            conditions.add("estimated_table")

    bound = 0.0
    for b, why in unplaced:
        value = b.ka_r_mGy * bound_factor(b, geometry)
        bound += value
        events[b.index] = EventDose(b.index, b.uid, b.ka_r_mGy, "bound", value,
                                    b.refused + (why, "upper estimate: Ka,r × backscatter × tissue-to-air energy absorption ratio at the reference point"))
    event_ka_r = [b.ka_r_mGy for b in study.beams if b.ka_r_mGy is not None]
    if not dosed and study.ka_r_total_mGy:
        bound = study.ka_r_total_mGy * corrections.largest_tabulated()
        reasons.append("no irradiation event with Ka,r: the report's total Ka,r × the largest tabulated backscatter × "
                       "tissue-to-air energy absorption ratio is the upper estimate")

    map_psd = float(dose.max()) if placed else None
    estimated = bool(placed) or bound > 0
    psd = (map_psd or 0.0) + bound if estimated else None
    if placed and not placement.height_absolute:
        conditions.add("estimated_height")
        reasons.append("table height not reported as the distance below the isocentre: the patient is taken as "
                       "centred on the isocentre at the study's reference height")
    if placed and not placement.table_position_known:
        reasons.append("table positions not reported: every beam is placed at the same table position, so beams "
                       "that moved along the patient are stacked (an upper estimate)")
    from_above = geometry.phantom == "plane" and any(
        p.source[2] > grid.points[0, 2] and shares[p.beam.index].area_cm2 > 0 for p in placed)
    reasons += _event_statements(list(events.values()), study, geometry.phantom, from_above)
    if not estimated:
        reasons.append("no irradiation event with Ka,r and no total Ka,r: skin dose not estimated")
    bounded = sum(e.method == "bound" for e in events.values())
    method = _method(grid.description, bool(placed), bounded, estimated)

    image, rows, cols, col_label, ticks = _patient_view(grid, dose, orientation)
    return SkinDoseResult(
        psd_mGy=psd, map_psd_mGy=map_psd, bound_mGy=bound,
        kar_total_mGy=sum(event_ka_r) if event_ka_r else study.ka_r_total_mGy,
        method=method, phantom=geometry.phantom, phantom_description=grid.description,
        geometry_source=geometry.source, orientation=orientation.label,
        dose_map=image, rows_cm=rows, cols_cm=cols, row_label="cm toward the head", col_label=col_label,
        col_ticks=ticks, events=tuple(events[i] for i in sorted(events)),
        uncertainty=uncertainty(conditions, reasons, estimated),
        notes=study.notes)
