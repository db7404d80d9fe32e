"""SSDE per CT acquisition, by the best method the inputs allow (AAPM Reports 204, 220, 293).

In order of preference:

1. the device's own SSDE (the RDSR's DCM 113930 for the acquisition);
2. the water-equivalent diameter Dw measured on the acquisition's axial images (AAPM 220), slice by slice:
   SSDE(z) = f(Dw(z)) × CTDIvol(z) and SSDE = mean of SSDE(z); slices are sampled along z (``spacing_mm``);
3. the effective diameter Deff = sqrt(AP × LAT) from a frontal and a lateral localizer of the study (AAPM 204);
4. the effective diameter of a typical patient of the same age (AAPM 204's age table): the least accurate.

f is AAPM 204's fit for the CTDIvol's phantom (32 or 16 cm) for the body, AAPM 293's for the head. Without
CTDIvol, or with only unverified coefficients, there is no SSDE, and ``reasons`` says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..tables import first_match
from ..uncertainty import combine
from .conversion import NoConversion, conversion
from .images import CtImage, ImageGroup, NotDecodable, ct_numbers, sample
from .localizer import Extent, extent
from .result import SlicePoint, SsdeResult
from .tables import DATA, LOOKUP, UNCERTAINTY, rows, verified
from .water import slice_size

DEFAULT_SPACING_MM = 10.0


@dataclass(frozen=True)
class Acquisition:
    """What one CT acquisition says of itself: from its RDSR event, its images' headers, or both."""

    ctdivol_mGy: float | None = None
    ctdivol_source: str | None = None
    phantom: str | None = None
    region_text: str | None = None
    device_ssde_mGy: float | None = None
    age_years: float | None = None
    event_index: int | None = None
    irradiation_event_uid: str | None = None


def region_of(text: str | None) -> str | None:
    """``head``, ``body`` or None from a target region, body part, protocol or description (``data/regions.csv``)."""
    row = first_match(DATA / "regions.csv", text)
    return row["region"] if row else None


def _region_and_phantom(acq: Acquisition, reasons: list[str]) -> tuple[str | None, str | None, bool]:
    """The scan's region and the CTDIvol's phantom (assumed from the region when not stated), reasons added once."""
    def say(reason: str) -> None:
        if reason not in reasons:
            reasons.append(reason)

    region = region_of(acq.region_text)
    phantom, assumed = acq.phantom, False
    if region is None:
        if phantom == "body32":
            region = "body"
            say("body region not stated: a body scan taken from CTDIvol in the 32 cm phantom")
        else:
            say("body region not stated" + (" and CTDIvol in the 16 cm phantom: head (AAPM 293) or small body "
                                             "(AAPM 204) cannot be told apart" if phantom else ""))
            return None, phantom, False
    if phantom is None:
        phantom, assumed = ("head16" if region == "head" else "body32"), True
        say(f"CTDIvol phantom not stated: {'16' if region == 'head' else '32'} cm assumed for the {region}")
    return region, phantom, assumed


def _uncertainty(method: str, region: str | None, assumed: bool, reasons: list[str], estimated: bool):
    conditions = {region or "", {"water_equivalent_diameter": "water_equivalent_diameter",
                                 "localizer_effective_diameter": "localizer",
                                 "age_effective_diameter": "age"}.get(method, "")}
    if assumed:
        conditions.add("phantom_assumed")
    return combine(rows(UNCERTAINTY), conditions, reasons, estimated and method != "device")


def _not_estimated(acq: Acquisition, group: ImageGroup | None, reasons: list[str], **known) -> SsdeResult:
    fields = dict(method="not estimated", ssde_mGy=None, ctdivol_mGy=acq.ctdivol_mGy,
                  ctdivol_source=acq.ctdivol_source, phantom=acq.phantom, phantom_assumed=False, region=None,
                  dw_cm=None, deff_cm=None, f=None, conversion=None, ssde_z=(),
                  slices_total=len(group.images) if group else 0, slices_used=0, truncated_slices=0,
                  series_instance_uid=group.series_instance_uid if group else None,
                  acquisition_number=group.acquisition if group else None,
                  irradiation_event_uid=acq.irradiation_event_uid or (group.irradiation_event_uid if group else None),
                  event_index=acq.event_index, uncertainty=combine((), set(), reasons, False), reasons=tuple(reasons))
    fields.update(known)
    return SsdeResult(**fields)


def _from_device(acq: Acquisition, group: ImageGroup | None) -> SsdeResult:
    reasons = ["the device's own SSDE (RDSR, DCM 113930): its method is the device's"]
    f = acq.device_ssde_mGy / acq.ctdivol_mGy if acq.ctdivol_mGy else None
    result = _not_estimated(acq, group, reasons)
    return replace(result, method="device", ssde_mGy=acq.device_ssde_mGy, f=f,
                   uncertainty=combine((), set(), reasons, False))


def _from_slices(acq: Acquisition, group: ImageGroup, spacing_mm: float | None, allow_unverified: bool,
                 reasons: list[str]) -> SsdeResult | None:
    """SSDE from Dw(z) on the group's slices; None when no slice could be measured (``reasons`` says why)."""
    region, phantom, assumed = _region_and_phantom(acq, reasons)
    used = sample(group.images, spacing_mm)
    points: list[SlicePoint] = []
    undecodable: list[str] = []
    for image in used:
        if image.pixel_mm is None:
            points.append(SlicePoint(image.z_mm, None, None, image.ctdivol_mGy, None, False, "no pixel spacing"))
            continue
        try:
            size = slice_size(ct_numbers(image.path), image.pixel_mm)
        except NotDecodable as exc:
            undecodable.append(str(exc))
            points.append(SlicePoint(image.z_mm, None, None, image.ctdivol_mGy, None, False, "not decodable"))
            continue
        ctdivol = acq.ctdivol_mGy if image.ctdivol_mGy is None else image.ctdivol_mGy
        points.append(SlicePoint(image.z_mm, size.dw_cm, None, ctdivol, None, size.truncated, size.reason))
    measured = [p for p in points if p.dw_cm is not None]
    if undecodable:
        reasons.append(f"{len(undecodable)} of {len(used)} slices not decodable: {undecodable[0]}")
    if not measured:
        reasons.append("no slice of the acquisition could be measured")
        return None
    dw = sum(p.dw_cm for p in measured) / len(measured)
    truncated = sum(p.truncated for p in measured)
    if truncated:
        reasons.append(f"patient wider than the field of view on {truncated} of {len(measured)} slices: Dw is too small "
                       "there (the tissue outside is not counted), so f and the SSDE are too high")
    base = dict(dw_cm=dw, slices_total=len(group.images), slices_used=len(measured), truncated_slices=truncated,
                region=region, phantom=phantom, phantom_assumed=assumed,
                series_instance_uid=group.series_instance_uid, acquisition_number=group.acquisition,
                irradiation_event_uid=acq.irradiation_event_uid or group.irradiation_event_uid,
                event_index=acq.event_index)
    if region is None:
        return _not_estimated(acq, group, reasons, ssde_z=tuple(measured), **base)
    try:
        fits = [conversion(p.dw_cm, phantom, region == "head", allow_unverified) for p in measured]
    except NoConversion as exc:
        return _not_estimated(acq, group, reasons + [str(exc)], ssde_z=tuple(measured), **base)
    points = [replace(p, f=c.f, ssde_mGy=None if p.ctdivol_mGy is None else c.f * p.ctdivol_mGy)
              for p, c in zip(measured, fits)]
    f = sum(c.f for c in fits) / len(fits)
    conv = conversion(dw, phantom, region == "head", allow_unverified)
    if any(p.ssde_mGy is None for p in points):
        reasons.append("no CTDIvol for the acquisition (neither its RDSR event nor its images' headers): no SSDE")
        return _not_estimated(acq, group, reasons, ssde_z=tuple(points), f=f, conversion=conv, **base)
    if not conv.verified:
        reasons.append(f"{conv.report}'s coefficients are unverified ({conv.verification.split(' ')[0]}): used on request")
    ssde = sum(p.ssde_mGy for p in points) / len(points)
    # the slices' own CTDIvol (tube current modulation) where their headers give it, the report's otherwise
    ctdivol = sum(p.ctdivol_mGy for p in points) / len(points)
    own = [i.ctdivol_mGy for i in used if i.ctdivol_mGy is not None]
    source = "image header" if own else acq.ctdivol_source
    if own and acq.ctdivol_source == "rdsr" and abs(ctdivol / acq.ctdivol_mGy - 1) > 0.05:
        reasons.append(f"the images' CTDIvol (mean {ctdivol:.3g} mGy) differs from the report's "
                       f"({acq.ctdivol_mGy:.3g} mGy): the images' is used, slice by slice")
    return SsdeResult(method="water_equivalent_diameter", ssde_mGy=ssde, ctdivol_mGy=ctdivol, ctdivol_source=source,
                      deff_cm=None, f=f, conversion=conv, ssde_z=tuple(points),
                      uncertainty=_uncertainty("water_equivalent_diameter", region, assumed, reasons, True),
                      reasons=tuple(reasons), **base)


def _from_diameter(acq: Acquisition, method: str, deff_cm: float, reasons: list[str],
                   allow_unverified: bool) -> SsdeResult:
    region, phantom, assumed = _region_and_phantom(acq, reasons)
    known = dict(deff_cm=deff_cm, region=region, phantom=phantom, phantom_assumed=assumed)
    if region is None:
        return _not_estimated(acq, None, reasons, **known)
    try:
        conv = conversion(deff_cm, phantom, region == "head", allow_unverified)
    except NoConversion as exc:
        return _not_estimated(acq, None, reasons + [str(exc)], **known)
    if acq.ctdivol_mGy is None:
        return _not_estimated(acq, None, reasons + ["no CTDIvol for the acquisition: no SSDE"], f=conv.f,
                              conversion=conv, **known)
    return replace(_not_estimated(acq, None, reasons, **known), method=method, ssde_mGy=conv.f * acq.ctdivol_mGy,
                   f=conv.f, conversion=conv,
                   uncertainty=_uncertainty(method, region, assumed, reasons, True))


def age_diameter(age_years: float, allow_unverified: bool = False) -> tuple[float | None, str | None]:
    """AAPM 204's effective diameter (cm) of a typical patient of this age, linearly interpolated; or the reason."""
    table = sorted(((float(r["input_value"]), float(r["effective_diameter_cm"]), r) for r in rows(LOOKUP)
                    if r["table"] == "Age"), key=lambda t: t[0])
    if not table:
        return None, "no age table"
    if not all(verified(r) for _, _, r in table) and not allow_unverified:
        return None, ("AAPM 204's age table here is a third party's transcription (secondary_transcription), "
                      "not checked against the report: not used")
    ages = [t[0] for t in table]
    if not ages[0] <= age_years <= ages[-1]:
        return None, f"age {age_years:g} y outside AAPM 204's age table ({ages[0]:g}-{ages[-1]:g} y)"
    for (a0, d0, _), (a1, d1, _) in zip(table, table[1:]):
        if a0 <= age_years <= a1:
            return d0 + (d1 - d0) * ((age_years - a0) / (a1 - a0) if a1 > a0 else 0.0), None
    return table[-1][1], None


def _localizer_diameter(localizers: list[CtImage], reasons: list[str]) -> float | None:
    """Deff = sqrt(AP × LAT) from one frontal and one lateral localizer; None (reason added) otherwise."""
    found: dict[str, Extent] = {}
    for image in localizers:
        if image.projection is None:
            continue
        try:
            e = extent(image)
        except NotDecodable as exc:
            reasons.append(f"localizer not decodable: {exc}")
            continue
        if e is not None:
            found.setdefault(e.dimension, e)
    if {"ap", "lateral"} <= found.keys():
        return math.sqrt(found["ap"].cm * found["lateral"].cm)
    if found:
        (only,) = found.values()
        reasons.append(f"only a {'lateral' if only.dimension == 'ap' else 'frontal'} localizer: "
                       "AAPM 204 Deff needs both the AP and the lateral dimension")
    return None


def estimate(acq: Acquisition, group: ImageGroup | None = None, localizers: list[CtImage] = (),
             spacing_mm: float | None = DEFAULT_SPACING_MM, allow_unverified: bool = False) -> SsdeResult:
    """The SSDE of one acquisition by the best method its inputs allow (see the module's docstring).

    Parameters
    ----------
    acq : Acquisition
        CTDIvol, phantom, region words, the device's SSDE and the patient's age, as known.
    group : ImageGroup, optional
        The acquisition's axial images.
    localizers : list of CtImage
        The study's localizer images.
    spacing_mm : float or None
        Sample the slices at least this far apart along z; None uses every slice.
    allow_unverified : bool
        Use coefficient rows that are only a third party's transcription (the result says so).
    """
    if acq.device_ssde_mGy is not None:
        return _from_device(acq, group)
    reasons: list[str] = []
    if (group is None or not group.images) and not localizers:
        reasons.append("no axial images or localizers of the acquisition among the files")
    if group is not None and group.images:
        result = _from_slices(acq, group, spacing_mm, allow_unverified, reasons)
        if result is not None:
            return result
    deff = _localizer_diameter(list(localizers), reasons)
    if deff is not None:
        return _from_diameter(acq, "localizer_effective_diameter", deff, reasons, allow_unverified)
    if acq.age_years is None:
        return _not_estimated(acq, group, reasons + ["no images, localizers or age to size the patient"])
    deff, why = age_diameter(acq.age_years, allow_unverified)
    if deff is None:
        return _not_estimated(acq, group, reasons + [why])
    reasons.append("the patient's size is that of a typical patient of the same age: the least accurate method")
    return _from_diameter(acq, "age_effective_diameter", deff, reasons, allow_unverified)
