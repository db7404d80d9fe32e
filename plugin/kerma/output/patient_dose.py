"""Kerma's own estimates as DICOM: the Patient Radiation Dose SR (TID 10030, SOP class …88.73).

:func:`patient_dose_sr` takes the dosimetry modules' result objects as they are (SSDE per CT acquisition, the
study's effective dose, the peak skin dose) and writes what each says: the value, the method with its citation,
the uncertainty (the components' relative half-widths in quadrature, with how they were combined), the
parameters used, and why there is no value where there is none.  Nothing is computed here.

The tree (PS3.16; highdicom has no class for these templates, so their rows are built from its content items and
pydicom's code dictionary)::

    CONTAINER (128401, DCM, "Patient Radiation Dose Report")           TID 10030
      HAS CONCEPT MOD  Language of Content Item and Descendants        TID 1204
      HAS OBS CONTEXT  Observer Context: device Kerma                  TID 1002 / 1004
      CONTAINS CONTAINER (128402, DCM, "Radiation Dose Estimate")      TID 10031
        CONTAINS CONTAINER (128412, DCM, "Radiation Dose Estimate Representation")   one per quantity
          CONTAINS TEXT (128403, DCM, "Radiation Dose Estimate Name")
          CONTAINS CODE (128413, DCM, "Distribution Representation")   a skin dose map (peak skin dose)
          CONTAINS NUM  the quantity: Effective Dose (113839) mSv, Maximum Absorbed Radiation Dose (128531)
                        to the skin mGy, Size Specific Dose Estimate (113930) mGy
            HAS CONCEPT MOD  Measurement Method (SSDE: CID 10023) / Target Region
            HAS PROPERTIES  NUM relative uncertainty (99KERMA), TEXT (128511, "Reference to Uncertainty
                            Determination Method"), UIDREF Irradiation Event UID (SSDE)
          CONTAINS TEXT Comment: not estimated, and why (no NUM then)
          CONTAINS CONTAINER (128415, "Radiation Dose Estimate Methodology")          TID 10033
            CONTAINS COMPOSITE (128416, "SR Instance Used"): the dose reports used
            CONTAINS CONTAINER (128500, "Patient Radiation Dose Model"): model type (CID 10064), transport model
                     type (CID 10065), reference, Patient Model Demographics
            CONTAINS CONTAINER (128476, "Radiation Dose Estimate Method"): type (CID 10068), reference
          CONTAINS CONTAINER (128434, "Radiation Dose Estimate Parameters")           TID 10034
            CONTAINS NUM  SSDE Conversion Factor, Water Equivalent Diameter, CTDIvol, Backscatter...
      CONTAINS TEXT Comment: effective dose is a population quantity, not this patient's risk

TID 10030 and the templates it includes are extensible: each quantity keeps its own methodology and parameters
inside its representation, so that three methods can share the one Radiation Dose Estimate TID 10030 allows.
Where PS3.16 has no concept (a relative uncertainty), the private coding scheme ``99KERMA`` names it and the
document identifies the scheme (Coding Scheme Identification Sequence).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pathlib import Path

import highdicom as hd
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from ..dosimetry.effective import effective_dose
from ..dosimetry.effective.result import EffectiveDose
from ..dosimetry.skin import skin_dose
from ..dosimetry.skin.result import SkinDoseResult
from ..dosimetry.ssde import ssde_results
from ..dosimetry.ssde.result import METHOD_CODES as SSDE_METHOD_CODES, SsdeResult
from ..extract import extract
from ..dosimetry.uncertainty import Uncertainty
from . import identity
from .content import (CONTAINS, HAS_CONCEPT_MOD, HAS_PROPERTIES, code, coded, composite, container, num, text, uid,
                      unit)
from .document import PATIENT_RADIATION_DOSE_SR, DoseDocument

KERMA_SCHEME = hd.coding_schemes.CodingSchemeIdentificationItem(
    designator="99KERMA", name="Kerma dose management concepts", responsible_organization="the Kerma project")
RELATIVE_UNCERTAINTY = code("RELUNC", "99KERMA", "Relative uncertainty (half-width)")
SKIN = code("39937001", "SCT", "Skin")
TARGET_REGION = code("123014", "DCM", "Target Region")
MEASUREMENT_METHOD = code("370129005", "SCT", "Measurement Method")
IRRADIATION_EVENT_UID = code("113769", "DCM", "Irradiation Event UID")
CTDIVOL = code("113830", "DCM", "Mean CTDIvol")
SERIES_DESCRIPTION = "Kerma dose estimates"
# the unit of an effective dose coefficient, by the quantity it multiplies
COEFFICIENT_UNITS = {"dlp_mGycm": unit("mSv/(mGy.cm)"), "administered_activity_MBq": unit("mSv/MBq"),
                     "dap_Gycm2": unit("mSv/(Gy.cm2)")}
UNCERTAINTY_METHOD = ("relative half-widths of the applicable components combined in quadrature (root sum of "
                      "squares); components: {}")


class NothingToReport(ValueError):
    """No estimate was given."""


def files_sr(paths: Sequence[str | Path], *, observer_uid: str, when: dt.datetime,
             allow_unverified: bool = False) -> DoseDocument:
    """The Patient Radiation Dose SR of one study's files (its dose report, its CT images): SSDE of each CT
    acquisition, effective dose and, for fluoroscopy, peak skin dose, each computed as ``kerma ssde``,
    ``kerma extract`` and ``kerma skin-dose`` do.  Its series and instance UIDs are derived from the study and the
    values, so that the same estimates give the same object (stored once) and new ones a new object.

    Raises
    ------
    NothingToReport
        When the files give no estimate.
    """
    records = [extract(Path(p).read_bytes()) for p in paths]
    report = next((r for r in records if r.ok and r.source == "rdsr"), None)
    ssde = ssde_results(paths, allow_unverified=allow_unverified)
    effective = effective_dose(report) if report is not None else None
    skin = skin_dose(report) if report is not None and report.modality in ("RF", "XA") else None
    evidence = [pydicom.dcmread(p, stop_before_pixels=True) for p, r in zip(paths, records)
                if r.status != "error"]
    if not evidence:
        raise NothingToReport("none of the files is a readable DICOM object")
    values = [r.ssde_mGy for r in ssde] + [effective and effective.effective_dose_mSv, skin and skin.psd_mGy]
    study = str(evidence[0].get("StudyInstanceUID", ""))
    return patient_dose_sr(evidence, ssde=ssde, effective=effective, skin=skin, observer_uid=observer_uid,
                           series_instance_uid=generate_uid(entropy_srcs=[study, observer_uid, SERIES_DESCRIPTION]),
                           sop_instance_uid=generate_uid(entropy_srcs=[study, observer_uid, repr(values)]),
                           when=when)


def patient_dose_sr(evidence: Sequence[Dataset], *, ssde: Sequence[SsdeResult] = (),
                    effective: EffectiveDose | None = None, skin: SkinDoseResult | None = None,
                    observer_uid: str, series_instance_uid: str, sop_instance_uid: str, when: dt.datetime,
                    series_number: int = 9001, instance_number: int = 1) -> DoseDocument:
    """The Patient Radiation Dose SR of one study's estimates.

    Parameters
    ----------
    evidence : sequence of pydicom.dataset.Dataset
        The study's objects the estimates were made from (dose reports, images: headers suffice); patient and study
        come from the first, and the dose reports among them are the SR instances used.
    ssde : sequence of SsdeResult
        One result per CT acquisition (:func:`kerma.dosimetry.ssde.estimate`).
    effective : EffectiveDose, optional
        The study's effective dose (:func:`kerma.dosimetry.effective.effective_dose`).
    skin : SkinDoseResult, optional
        The study's peak skin dose (:func:`kerma.dosimetry.skin.skin_dose`).
    observer_uid : str
        The Device Observer UID of this Kerma installation (also its Device Serial Number, which the Enhanced
        General Equipment module requires).
    series_instance_uid, sop_instance_uid : str
        The SR's own series and instance (a series of its own in the study).
    when : datetime.datetime
        The moment it is made (Kerma's clock).

    Raises
    ------
    NothingToReport
        When no estimate is given.
    """
    used = [e for e in evidence if str(e.get("SOPClassUID", "")).startswith("1.2.840.10008.5.1.4.1.1.88.")]
    representations = [_effective(effective, used) if effective is not None else None,
                       _skin(skin, used) if skin is not None else None,
                       *(_ssde(result, used) for result in ssde)]
    representations = [r for r in representations if r is not None]
    if not representations:
        raise NothingToReport("no dose estimate to report")
    statement = effective.statement if effective is not None else None
    root = container(codes.DCM.PatientRadiationDoseReport, relationship=None, template_id="10030", children=[
        *hd.sr.LanguageOfContentItemAndDescendants(hd.sr.CodedConcept("en-US", "RFC5646", "English (United States)")),
        *hd.sr.ObserverContext(codes.DCM.Device, hd.sr.DeviceObserverIdentifyingAttributes(
            uid=observer_uid, name=identity.MANUFACTURER, manufacturer_name=identity.MANUFACTURER,
            model_name=identity.MODEL)),
        container(codes.DCM.RadiationDoseEstimate, children=representations),
        text(codes.DCM.Comment, statement),
    ])
    document = DoseDocument(evidence, root, sop_class_uid=PATIENT_RADIATION_DOSE_SR,
                            series_instance_uid=series_instance_uid, sop_instance_uid=sop_instance_uid,
                            series_number=series_number, instance_number=instance_number, when=when,
                            manufacturer=identity.MANUFACTURER, manufacturer_model_name=identity.MODEL,
                            software_versions=identity.SOFTWARE_VERSIONS, device_serial_number=observer_uid,
                            series_description=SERIES_DESCRIPTION,
                            coding_schemes=[KERMA_SCHEME])
    identity.mark(document, identity.PATIENT_DOSE_ESTIMATES)
    return document


# --- one representation per quantity ------------------------------------------------------------------------------

def _representation(name: str, value_item, not_estimated: Sequence[str], methodology, parameters=(),
                    distribution=None):
    return container(codes.DCM.RadiationDoseEstimateRepresentation, children=[
        text(codes.DCM.RadiationDoseEstimateName, name),
        coded(codes.DCM.DistributionRepresentation, distribution),
        value_item,
        text(codes.DCM.Comment, "not estimated: " + ("; ".join(not_estimated) or "no value"))
        if value_item is None else None,
        methodology,
        container(codes.DCM.RadiationDoseEstimateParameters, children=parameters) if parameters else None,
    ])


def _uncertainty(uncertainty: Uncertainty) -> list:
    """The relative uncertainty and how it was found, as properties of the value."""
    sources = "; ".join(f"{c['name']} ±{c['relative']:g} ({c['source']})" for c in uncertainty.components)
    return [num(RELATIVE_UNCERTAINTY, uncertainty.relative, unit("1", "no units"), HAS_PROPERTIES),
            text(codes.DCM.ReferenceToUncertaintyDeterminationMethod,
                 UNCERTAINTY_METHOD.format(sources or "none"), HAS_PROPERTIES) if uncertainty.relative is not None
            else None]


def _methodology(used: Sequence[Dataset], model_type, transport, model_reference: str, method_type,
                 method_reference: str, demographics=()):
    return container(codes.DCM.RadiationDoseEstimateMethodology, children=[
        *(composite(codes.DCM.SRInstanceUsed, d.SOPClassUID, d.SOPInstanceUID) for d in used),
        container(codes.DCM.PatientRadiationDoseModel, children=[
            coded(codes.DCM.PatientModelType, model_type),
            coded(codes.DCM.RadiationTransportModelType, transport),
            text(codes.DCM.PatientRadiationDoseModelReference, model_reference),
            container(codes.DCM.PatientModelDemographics, children=demographics) if demographics else None,
        ]),
        container(codes.DCM.RadiationDoseEstimateMethod, children=[
            coded(codes.DCM.RadiationDoseEstimateMethodType, method_type),
            text(codes.DCM.RadiationDoseEstimateMethodReference, method_reference),
        ]),
    ])


def _effective(estimate: EffectiveDose, used: Sequence[Dataset]):
    value = num(codes.DCM.EffectiveDose, estimate.effective_dose_mSv, unit("mSv"),
                children=[text(MEASUREMENT_METHOD, estimate.method, HAS_CONCEPT_MOD),
                          *_uncertainty(estimate.uncertainty)])
    coefficients = {(e.quantity, e.category, e.coefficient) for e in estimate.events if e.coefficient is not None}
    parameters = [num(codes.DCM.ConversionFactor, k, COEFFICIENT_UNITS.get(quantity, unit("1", "no units")),
                      children=[text(codes.DCM.Comment, category, HAS_PROPERTIES)])
                  for quantity, category, k in sorted(coefficients, key=lambda c: (c[0], str(c[1]), c[2]))]
    methodology = _methodology(used, codes.DCM.AnthropomorphicModel, codes.DCM.VoxelizedRadiationTransportModel,
                               "ICRP reference person (ICRP Publication 103 tissue weighting factors)",
                               codes.DCM.TabularDataAlgorithm, estimate.method)
    return _representation("Effective dose", value, estimate.reasons, methodology, parameters)


def _skin(result: SkinDoseResult, used: Sequence[Dataset]):
    value = num(codes.DCM.MaximumAbsorbedRadiationDose, result.psd_mGy, unit("mGy"),
                children=[coded(TARGET_REGION, SKIN, HAS_CONCEPT_MOD), text(MEASUREMENT_METHOD, result.method,
                                                                             HAS_CONCEPT_MOD),
                          *_uncertainty(result.uncertainty)])
    reasons = () if result.psd_mGy is not None else result.uncertainty.reasons
    k_bs = sorted({e.k_bs for e in result.events if e.k_bs is not None})
    parameters = [num(codes.DCM.Backscatter, k, unit("1", "no units")) for k in (k_bs[:1] + k_bs[-1:])[:2]] \
        if k_bs else []
    methodology = _methodology(used, codes.DCM.SimpleObjectModel, codes.DCM.GeometricRadiationTransportModel,
                               result.phantom_description, codes.DCM.AnalyticalAlgorithm, result.method)
    return _representation("Peak skin dose", value, reasons, methodology, parameters,
                           distribution=codes.DCM.SkinDoseMap)


def _ssde(result: SsdeResult, used: Sequence[Dataset]):
    method_code = SSDE_METHOD_CODES.get(result.method)
    method = coded(MEASUREMENT_METHOD, code(method_code[0], "DCM", method_code[1]), HAS_CONCEPT_MOD) \
        if method_code else text(MEASUREMENT_METHOD, result.method, HAS_CONCEPT_MOD)
    value = num(codes.DCM.SizeSpecificDoseEstimate, result.ssde_mGy, unit("mGy"),
                children=[method, uid(IRRADIATION_EVENT_UID, result.irradiation_event_uid, HAS_PROPERTIES),
                          *_uncertainty(result.uncertainty)])
    diameter = (num(codes.DCM.WaterEquivalentDiameter, result.dw_cm, unit("cm")) if result.dw_cm is not None
                else num(codes.DCM.DerivedEffectiveDiameter, result.deff_cm, unit("cm")))
    parameters = [num(codes.DCM.SSDEConversionFactor, result.f, unit("1", "no units")), diameter,
                  num(CTDIVOL, result.ctdivol_mGy, unit("mGy"))]
    conversion = result.conversion
    reference = (f"AAPM Report {conversion.report}: f = {conversion.a:g} × exp(−{conversion.b:g} × D), "
                 f"{conversion.phantom_cm} cm phantom ({conversion.source})") if conversion else result.method
    methodology = _methodology(used, codes.DCM.SimpleObjectModel, codes.DCM.MeasuredRadiationDose,
                               "water cylinder of the patient's water-equivalent or effective diameter",
                               codes.DCM.TabularDataAlgorithm, reference)
    name = "Size-specific dose estimate" + (f", acquisition {result.event_index + 1}"
                                            if result.event_index is not None else "")
    return _representation(name, value, result.reasons if result.ssde_mGy is None else (), methodology,
                           [p for p in parameters if p is not None])
