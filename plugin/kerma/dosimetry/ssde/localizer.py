"""The patient's width or thickness on a CT localizer (scout, topogram) image, for AAPM 204's effective diameter.

On each image line across the patient (perpendicular to z) the patient is the longest run of pixels brighter than
the background (10 % of the way from air to the densest path); the couch, seen edge-on in a lateral localizer, is a separate,
shorter run. The dimension is the median of those runs over the lines that show the patient. A frontal (AP or PA)
localizer gives the lateral width (LAT), a lateral one the anterior-posterior thickness (AP); AAPM Report 204
gives Deff = sqrt(AP × LAT).

The pixel spacing of a CT localizer is stated at the isocentre: a patient lying off centre is magnified or shrunk
(said in the uncertainty), and the median runs over the whole localizer, not only over the acquisition's range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .images import CtImage, NotDecodable, ct_numbers

MIN_EXTENT_MM = 50.0   # a line whose longest run is shorter shows no patient (a hand, the couch's edge)
EDGE_FRACTION = 0.10


@dataclass(frozen=True)
class Extent:
    """One localizer's dimension: ``lateral`` (from a frontal view) or ``ap`` (from a lateral view), in cm."""

    dimension: str
    cm: float
    lines: int
    path: str


def _threshold(values: np.ndarray) -> float:
    """Just above the background: 10 % of the way from air (1st percentile) to the patient's densest (99.5th).

    A projection's edge is thin (a short path through the patient): a threshold halfway up, as Otsu's, would cut
    the patient narrower than it is; at 10 % of the largest path an elliptic outline loses 0.5 % of its width.
    """
    low, high = np.percentile(values, [1.0, 99.5])
    return float(low + EDGE_FRACTION * (high - low))


def _longest_runs(mask: np.ndarray) -> np.ndarray:
    """Per row of a boolean array, the length of its longest run of True."""
    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 1)))
    diff = np.diff(padded, axis=1)
    best = np.zeros(mask.shape[0], dtype=int)
    for row in range(mask.shape[0]):
        starts = np.flatnonzero(diff[row] == 1)
        ends = np.flatnonzero(diff[row] == -1)
        if starts.size:
            best[row] = int((ends - starts).max())
    return best


def extent(image: CtImage, values: np.ndarray | None = None) -> Extent | None:
    """The localizer's patient dimension, or None when it shows no patient or its geometry is unknown.

    Raises
    ------
    NotDecodable
        The localizer's pixels cannot be decoded here.
    """
    if image.projection is None or image.pixel_mm is None:
        return None
    pixels = ct_numbers(image.path) if values is None else values
    if pixels.ndim != 2:
        raise NotDecodable("localizer pixel data is not one image")
    body = pixels > _threshold(pixels)
    # lines across the patient: the image rows when z runs down the columns (the usual layout), else the columns
    if image.z_down_columns:
        runs = _longest_runs(body) * image.pixel_mm[1]
    else:
        runs = _longest_runs(body.T) * image.pixel_mm[0]
    shown = runs[runs >= MIN_EXTENT_MM]
    if not shown.size:
        return None
    dimension = "lateral" if image.projection == "frontal" else "ap"
    return Extent(dimension=dimension, cm=float(np.median(shown)) / 10.0, lines=int(shown.size), path=image.path)
