"""What an SSDE estimate gives for one CT acquisition: the method, the size, f, CTDIvol, SSDE, along z, uncertainty."""

from __future__ import annotations

from dataclasses import dataclass

from ..uncertainty import Uncertainty, rounded
from .conversion import Conversion

# method -> DICOM PS3.16 CID 10023 (Size Specific Dose Estimation Method for CT) where one code names it
METHOD_CODES = {
    "water_equivalent_diameter": ("113989", "Arithmetic Average of SSDE(z)"),
    "age_effective_diameter": ("113937", "AAPM 204 Effective Diameter Estimated From Patient Age"),
}
METHODS = ("device", "water_equivalent_diameter", "localizer_effective_diameter", "age_effective_diameter",
           "not estimated")


@dataclass(frozen=True)
class SlicePoint:
    """SSDE(z) at one slice: its Dw, f(Dw), CTDIvol (the slice's own when its header gives one) and SSDE."""

    z_mm: float | None
    dw_cm: float | None
    f: float | None
    ctdivol_mGy: float | None
    ssde_mGy: float | None
    truncated: bool
    reason: str | None = None

    def to_dict(self) -> dict:
        return {"z_mm": rounded(self.z_mm), "dw_cm": rounded(self.dw_cm, 5), "f": rounded(self.f, 4),
                "ctdivol_mGy": rounded(self.ctdivol_mGy), "ssde_mGy": rounded(self.ssde_mGy, 5),
                "truncated": self.truncated, "reason": self.reason}


@dataclass(frozen=True)
class SsdeResult:
    """The SSDE of one CT acquisition, with how it was obtained.

    ``method`` is one of ``METHODS``: the device's own SSDE (RDSR, DCM 113930), the water-equivalent diameter
    measured on the axial images (AAPM 220; SSDE is then the mean of SSDE(z)), the effective diameter from the
    localizer's AP and lateral dimensions (AAPM 204), the effective diameter of the patient's age (AAPM 204,
    the least accurate), or ``not estimated`` (``reasons`` says why). ``f`` is the mean of f over the slices used
    (the f of the one diameter otherwise); ``dw_cm`` / ``deff_cm`` the mean diameter.
    """

    method: str
    ssde_mGy: float | None
    ctdivol_mGy: float | None
    ctdivol_source: str | None
    phantom: str | None
    phantom_assumed: bool
    region: str | None
    dw_cm: float | None
    deff_cm: float | None
    f: float | None
    conversion: Conversion | None
    ssde_z: tuple[SlicePoint, ...]
    slices_total: int
    slices_used: int
    truncated_slices: int
    series_instance_uid: str | None
    acquisition_number: str | None
    irradiation_event_uid: str | None
    event_index: int | None
    uncertainty: Uncertainty
    reasons: tuple[str, ...] = ()

    @property
    def truncated(self) -> bool:
        return self.truncated_slices > 0

    def to_dict(self) -> dict:
        code = METHOD_CODES.get(self.method)
        return {
            "method": self.method, "method_code": None if code is None else {"scheme": "DCM", "value": code[0],
                                                                             "meaning": code[1]},
            "ssde_mGy": rounded(self.ssde_mGy, 5), "ctdivol_mGy": rounded(self.ctdivol_mGy),
            "ctdivol_source": self.ctdivol_source, "phantom": self.phantom, "phantom_assumed": self.phantom_assumed,
            "region": self.region, "dw_cm": rounded(self.dw_cm, 5), "deff_cm": rounded(self.deff_cm, 5),
            "f": rounded(self.f, 4), "coefficients": None if self.conversion is None else self.conversion.to_dict(),
            "truncated": self.truncated, "truncated_slices": self.truncated_slices,
            "slices_total": self.slices_total, "slices_used": self.slices_used,
            "series_instance_uid": self.series_instance_uid, "acquisition_number": self.acquisition_number,
            "irradiation_event_uid": self.irradiation_event_uid, "event_index": self.event_index,
            "ssde_z": [p.to_dict() for p in self.ssde_z] or None,
            "uncertainty": self.uncertainty.to_dict(), "reasons": list(self.reasons),
        }
