"""What a study's derived doses are computed from, read from the dose database, and its fingerprint.

The inputs are the study's dose objects that carry a dose to convert (its dose reports; a radiograph's or a nuclear
medicine image's header record where the study has no report of that family), the CT images that size the patient
for SSDE (localizers, and axial slices sampled along z where a CT acquisition has no SSDE from its device), the
patient's age, weight, height and sex as the study now has them (from the headers, the HIS or a person), and the
study's exam region (its standard exam, set by the mapping rules).  Their SHA-256, with the models' version, is
``sha256``: when it differs from the one the study's rows were computed from, they are computed again.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import jsonout
from ..corrections.factors import DeviceFactors
from ..db.models import DoseObject, StandardExam, Study
from ..study_dose import FAMILY

# the models' version: raise it when a model, its coefficients or what is stored changes (every study is then
# computed again as it is next looked at)
MODEL_VERSION = "1"
REPORT, LOCALIZER, SLICE = "report", "localizer", "slice"
SLICE_SPACING_MM = 10.0  # axial slices sampled at least this far apart along z (kerma.dosimetry.ssde's default)
MAX_SLICES = 120  # per study: a whole-body scan at 10 mm; what the dosimetry thread fetches from Orthanc at most
HEADER_DOSE_KINDS = ("projection", "radiopharmaceutical")  # header records that are one exposure's dose each


@dataclass(frozen=True)
class InputObject:
    """One instance the computation reads: ``role`` is ``report``, ``localizer`` or ``slice``."""

    dose_object_id: int
    sop_instance_uid: str
    orthanc_id: str
    role: str
    # the device's correction factors in force on the study's date, (kind, factor) (kerma.corrections): a report's
    # doses are corrected before they are converted, the table transmission goes to the skin dose map
    factors: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class StudyInputs:
    """Everything a study's derived doses depend on; ``sha256`` fingerprints it with :data:`MODEL_VERSION`."""

    study_id: int
    objects: tuple[InputObject, ...]
    patient: dict
    exam_region: str | None
    sha256: str

    def describe(self) -> dict:
        """What the rows store as their inputs (no Orthanc ids: those change when a study is moved)."""
        return {"model_version": MODEL_VERSION, "patient": self.patient, "exam_region": self.exam_region,
                "objects": [{"sop_instance_uid": o.sop_instance_uid, "role": o.role,
                             **({"correction_factors": dict(o.factors)} if o.factors else {})} for o in self.objects]}


def _image(row) -> dict:
    return ((row.details or {}).get("image") or {}) if row is not None else {}


def sampled_slices(slices: list[tuple[DoseObject, dict]], spacing_mm: float = SLICE_SPACING_MM) -> list[DoseObject]:
    """Per series, the slices at least ``spacing_mm`` apart along z (the first, then each one that far from the last
    taken); slices without a position are left out."""
    by_series: dict[str, list[tuple[float, DoseObject]]] = {}
    for obj, image in slices:
        if isinstance(image.get("z_mm"), (int, float)):
            by_series.setdefault(image.get("series_instance_uid") or "", []).append((float(image["z_mm"]), obj))
    taken = []
    for series in sorted(by_series):
        last = None
        for z, obj in sorted(by_series[series], key=lambda item: (item[0], item[1].id)):
            if last is None or abs(z - last) >= spacing_mm:
                taken.append(obj)
                last = z
    return taken


def gather(session: Session, study_id: int) -> StudyInputs | None:
    """The inputs of study ``study_id`` (None when it is gone)."""
    study = session.scalars(select(Study).where(Study.id == study_id)
                            .options(selectinload(Study.objects).selectinload(DoseObject.events))).first()
    if study is None:
        return None
    objects = [o for o in study.objects if o.status == "ok" and o.deleted_in_pacs_at is None
               and o.duplicate_of_id is None and o.orthanc_id]
    chosen = study.dose_sources or {}
    recorded = DeviceFactors(session)
    factors = {o.id: tuple(sorted((k, f.factor) for k, f in recorded.on(o.device_id, study.study_date, use=None).items()))
               for o in objects}
    chosen_inputs: list[InputObject] = []
    ct_reports, slices, localizers = [], [], []
    for obj in objects:
        family = FAMILY.get(obj.modality or "", obj.modality or "")
        if obj.source == "rdsr" or (obj.source == "header" and obj.report_kind in HEADER_DOSE_KINDS
                                    and chosen.get(family) == "header"):
            chosen_inputs.append(InputObject(obj.id, obj.sop_instance_uid, obj.orthanc_id, REPORT, factors[obj.id]))
            if obj.report_kind == "ct":
                ct_reports.append(obj)
        elif obj.source == "header" and obj.modality == "CT":
            first = next((e for e in obj.events if e.folded_key is None), None)
            image = _image(first)
            if "LOCALIZER" in (image.get("image_type") or []):
                localizers.append(obj)
            else:
                slices.append((obj, image))
    device_ssde = bool(ct_reports) and all(e.ssde_mGy is not None for o in ct_reports for e in o.events
                                           if e.folded_key is None and e.ctdivol_mGy is not None)
    if ct_reports or slices:
        chosen_inputs += [InputObject(o.id, o.sop_instance_uid, o.orthanc_id, LOCALIZER) for o in localizers]
    if slices and not device_ssde:
        chosen_inputs += [InputObject(o.id, o.sop_instance_uid, o.orthanc_id, SLICE)
                          for o in sampled_slices(slices)[:MAX_SLICES]]
    exam = session.get(StandardExam, study.standard_exam_id) if study.standard_exam_id else None
    patient = {"age_years": study.patient_age_years, "weight_kg": study.patient_weight_kg,
               "height_m": study.patient_height_m, "sex": study.patient_sex,
               "weight_source": study.patient_weight_source, "height_source": study.patient_height_source}
    region = (exam.name if exam is not None else None)
    fingerprint = jsonout.dumps({"version": MODEL_VERSION, "patient": patient, "exam_region": region,
                                 "objects": [asdict(o) | {"orthanc_id": None} for o in chosen_inputs]}, sort_keys=True)
    return StudyInputs(study.id, tuple(chosen_inputs), patient, region,
                       hashlib.sha256(fingerprint.encode()).hexdigest())
