"""What a skin-dose estimate gives: the peak skin dose, the map, the events used and the uncertainty with its reasons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..uncertainty import Uncertainty
from ..uncertainty import rounded as _round


@dataclass(frozen=True)
class EventDose:
    """One irradiation event's part in the estimate.

    ``method``: ``map`` (placed on the phantom), ``bound`` (no usable geometry: an upper estimate at the reference
    point), ``missed`` (placed, but the beam reaches none of the phantom's skin), ``no dose`` (no Ka,r or Ka,r 0).
    ``peak_mGy`` is its largest cell dose on the map, or its bound.
    """

    index: int
    uid: str | None
    ka_r_mGy: float | None
    method: str
    peak_mGy: float | None
    reasons: tuple[str, ...] = ()
    k_isq_max: float | None = None
    k_bs: float | None = None
    k_med: float | None = None
    hvl_mmAl: float | None = None
    through_table: bool | None = None
    area_cm2: float | None = None

    def to_dict(self) -> dict:
        return {"index": self.index, "irradiation_event_uid": self.uid, "ka_r_mGy": self.ka_r_mGy,
                "method": self.method, "peak_mGy": _round(self.peak_mGy), "k_isq_max": _round(self.k_isq_max),
                "k_bs": _round(self.k_bs), "k_med": _round(self.k_med), "hvl_mmAl": _round(self.hvl_mmAl),
                "through_table": self.through_table, "area_cm2": _round(self.area_cm2), "reasons": list(self.reasons)}


@dataclass(frozen=True)
class SkinDoseResult:
    """Peak skin dose (mGy) and skin dose map of one study, with method, events and uncertainty.

    ``dose_map`` (mGy) is seen from the patient: rows from feet to head (``rows_cm``, toward the head), columns
    along ``cols_cm`` as ``col_label`` says. ``psd_mGy`` = ``map_psd_mGy`` + ``bound_mGy``: the map's peak plus
    the upper estimate of the events without geometry (as if they all hit the peak).
    """

    psd_mGy: float | None
    map_psd_mGy: float | None
    bound_mGy: float
    kar_total_mGy: float | None
    method: str
    phantom: str
    phantom_description: str
    geometry_source: str
    orientation: str
    dose_map: np.ndarray
    rows_cm: np.ndarray
    cols_cm: np.ndarray
    row_label: str
    col_label: str
    col_ticks: tuple[tuple[float, str], ...]
    events: tuple[EventDose, ...]
    uncertainty: Uncertainty
    notes: tuple[str, ...] = ()

    def count(self, method: str) -> int:
        return sum(e.method == method for e in self.events)

    @property
    def events_used(self) -> int:
        """Events that entered the PSD: placed on the map (hitting the phantom or not) or bounded."""
        return sum(e.method in ("map", "missed", "bound") for e in self.events)

    @property
    def peak(self) -> dict | None:
        if self.map_psd_mGy is None or not self.dose_map.size or self.map_psd_mGy <= 0:
            return None
        row, col = np.unravel_index(int(np.argmax(self.dose_map)), self.dose_map.shape)
        return {"row_cm": float(self.rows_cm[row]), "col_cm": float(self.cols_cm[col])}

    def to_dict(self) -> dict:
        """The result as strict JSON values (no NaN), the map itself left out (``map`` gives its grid)."""
        return {
            "psd_mGy": _round(self.psd_mGy), "map_psd_mGy": _round(self.map_psd_mGy),
            "bound_mGy": _round(self.bound_mGy), "kar_total_mGy": _round(self.kar_total_mGy),
            "method": self.method,
            "phantom": {"kind": self.phantom, "description": self.phantom_description,
                        "geometry": self.geometry_source, "orientation": self.orientation},
            "events_used": self.events_used, "events_mapped": self.count("map"),
            "events_missed": self.count("missed"), "events_bounded": self.count("bound"),
            "events_without_dose": self.count("no dose"),
            "peak": self.peak,
            "map": {"rows": int(self.dose_map.shape[0]), "cols": int(self.dose_map.shape[1]),
                    "row_label": self.row_label, "col_label": self.col_label,
                    "rows_cm": [_round(self.rows_cm[0]), _round(self.rows_cm[-1])] if len(self.rows_cm) else None,
                    "cols_cm": [_round(self.cols_cm[0]), _round(self.cols_cm[-1])] if len(self.cols_cm) else None},
            "uncertainty": self.uncertainty.to_dict(),
            "events": [e.to_dict() for e in self.events],
            "notes": list(self.notes),
        }
