"""Water-equivalent diameter Dw of one axial CT slice (AAPM Report 220), the couch left out.

    A_w = Σ over the patient's pixels of (HU/1000 + 1) · pixel area,   Dw = 2·sqrt(A_w / π)

The patient region is found without a user: pixels above ``BODY_HU`` (air and the mattress's foam are below,
fat and everything denser above); structures thinner than ``THIN_MM`` (the couch top, blankets, cables) are
removed by a morphological opening before the parts of the patient are chosen; a part that lies wholly above or
below the largest part and is wider than it is tall is the couch (or a head holder) and is left out, whatever its
thickness; the parts kept are closed over their holes (lungs, bowel gas, the airway belong to the patient).
Anam et al. (Radiat Prot Dosimetry 2019;185:42) describe the same steps (threshold, largest objects, table
removal) and show Dw within 5 % of a hand-drawn outline.

A patient wider than the reconstructed field of view is cut at its edge: the missing tissue is not counted, so Dw
is too small, f(Dw) too large and the SSDE too high. The slice says so (``truncated``) and by how much of the
outline (``truncated_fraction``: the share of the patient's outline that lies on the edge of the field).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

BODY_HU = -500.0           # between air / foam (≈ −1000 … −800) and fat (≈ −100)
OUTSIDE_FOV_HU = -1500.0   # scanners fill pixels outside the reconstruction circle with −2000, −3024 …
THIN_MM = 14.0             # opening diameter: a couch top, a blanket, a cable is thinner; an arm is not
SEGMENT_PIXEL_MM = 2.0     # the parts are chosen on a mask resampled to about this pixel size (speed)
MIN_PART_FRACTION = 0.01   # parts smaller than this share of the largest are noise, not patient
TRUNCATION_MIN_FRACTION = 0.005  # outline on the field's edge above this share: truncated


@dataclass(frozen=True)
class SliceSize:
    """Dw and what it was measured on, for one slice.

    ``area_cm2`` is the patient region's area, ``mean_hu`` its mean CT number, ``deff_cm`` the diameter of a circle
    of that area (AAPM 204's effective diameter measured on the image), ``dw_cm`` the water-equivalent diameter.
    ``dw_cm`` is None when no patient is found (``reason`` says why).
    """

    dw_cm: float | None
    area_cm2: float
    mean_hu: float | None
    deff_cm: float | None
    truncated: bool
    truncated_fraction: float
    parts: int
    excluded_parts: int
    reason: str | None = None

    def to_dict(self) -> dict:
        return {"dw_cm": _round(self.dw_cm), "deff_cm": _round(self.deff_cm), "area_cm2": _round(self.area_cm2),
                "mean_hu": _round(self.mean_hu), "truncated": self.truncated,
                "truncated_fraction": _round(self.truncated_fraction), "reason": self.reason}


def _round(value: float | None, digits: int = 5) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


def _disk(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    return x * x + y * y <= radius * radius


def _upsample(mask: np.ndarray, step: int, shape: tuple[int, int]) -> np.ndarray:
    if step == 1:
        return mask
    return np.repeat(np.repeat(mask, step, axis=0), step, axis=1)[:shape[0], :shape[1]]


def patient_mask(hu: np.ndarray, pixel_mm: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The patient's pixels of one slice (couch and thin structures out, holes in).

    Returns the mask, the coarse mask it was drawn from (for the truncation check), the number of parts kept and
    the number of parts left out as the couch or too small.
    """
    body = hu > BODY_HU
    # the parts are chosen on a coarser grid: the same answer for a couch or an arm, a fraction of the time
    step = max(1, int(SEGMENT_PIXEL_MM // min(pixel_mm)))
    coarse = body[::step, ::step]
    coarse_mm = (pixel_mm[0] * step, pixel_mm[1] * step)
    radius = max(1, int(round(THIN_MM / 2 / min(coarse_mm))))
    opened = ndimage.binary_opening(coarse, structure=_disk(radius))
    labels, count = ndimage.label(opened)
    if count == 0:
        return np.zeros_like(body), np.zeros_like(coarse), 0, 0
    sizes = ndimage.sum_labels(opened, labels, index=np.arange(1, count + 1))
    largest = int(np.argmax(sizes))
    boxes = ndimage.find_objects(labels)
    top, bottom = boxes[largest][0].start, boxes[largest][0].stop
    keep = np.zeros(count + 1, dtype=bool)
    for index, (box, size) in enumerate(zip(boxes, sizes)):
        height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
        beside = box[0].start >= bottom or box[0].stop <= top
        couch = index != largest and beside and width > height   # wholly above or below the patient, and flat
        keep[index + 1] = size >= MIN_PART_FRACTION * sizes[largest] and not couch
    # the kept parts, one coarse pixel wider (the edge the opening rounded), closed over their holes
    region = ndimage.binary_fill_holes(ndimage.binary_dilation(keep[labels]))
    interior = ndimage.binary_erosion(region, iterations=2)
    # full resolution: inside, every pixel (lungs, gas); in the outer ring, the pixels above the threshold
    mask = _upsample(region, step, body.shape) & (body | _upsample(interior, step, body.shape))
    return mask, region, int(keep.sum()), count - int(keep.sum())


def _truncation(region: np.ndarray, outside: np.ndarray) -> float:
    """Share of the patient's outline (on the coarse grid) on the edge of the image or of the reconstructed field."""
    outline = region & ~ndimage.binary_erosion(region)
    total = int(outline.sum())
    if total == 0:
        return 0.0
    edge = ndimage.binary_dilation(outside) if outside.any() else np.zeros_like(region)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    return float((outline & edge).sum()) / total


def slice_size(hu: np.ndarray, pixel_mm: tuple[float, float]) -> SliceSize:
    """Dw of one slice of CT numbers (HU, rescale already applied) with pixel spacing (row, column) in mm."""
    hu = np.asarray(hu, dtype=np.float32)
    mask, region, parts, excluded = patient_mask(hu, pixel_mm)
    pixel_cm2 = pixel_mm[0] * pixel_mm[1] / 100.0
    count = int(mask.sum())
    if count == 0:
        return SliceSize(None, 0.0, None, None, False, 0.0, 0, excluded, reason="no patient in the slice")
    values = hu[mask]
    mean_hu = float(values.mean())
    area = count * pixel_cm2
    water_area = max(0.0, (mean_hu / 1000.0 + 1.0) * area)
    step = hu.shape[0] // region.shape[0] if region.shape[0] else 1
    fraction = _truncation(region, (hu < OUTSIDE_FOV_HU)[::max(1, step), ::max(1, step)][:region.shape[0], :region.shape[1]])
    return SliceSize(dw_cm=2.0 * math.sqrt(water_area / math.pi), area_cm2=area, mean_hu=mean_hu,
                     deff_cm=2.0 * math.sqrt(area / math.pi), truncated=fraction > TRUNCATION_MIN_FRACTION,
                     truncated_fraction=fraction, parts=parts, excluded_parts=excluded)
