"""SSDE for a set of files: CT images (one or more series, localizers) and the study's CT dose reports.

Each CT acquisition of a report (TID 10013, localizers' constant-angle acquisitions left out) is one answer,
sized by its own images when they carry its Irradiation Event UID (0008,3010); image series that no report event
claims are answers of their own, with CTDIvol from their headers. Localizers and the patient's age serve the
acquisitions without usable images (``estimate``'s order of methods).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ...extract import extract
from .estimate import DEFAULT_SPACING_MM, Acquisition, estimate
from .images import CtImage, NotAnImage, group_images, read_header
from .result import SsdeResult

LOCALIZER_ACQUISITION = "constant angle"   # DCM 113805 Constant Angle Acquisition: a localizer


def _event_acquisition(index: int, event: dict, age: float | None) -> Acquisition:
    words = " ".join(str(event.get(k) or "") for k in ("target_region", "protocol")).strip()
    return Acquisition(ctdivol_mGy=event.get("ctdivol_mGy"), ctdivol_source="rdsr" if event.get("ctdivol_mGy")
                       is not None else None, phantom=event.get("phantom"), region_text=words or None,
                       device_ssde_mGy=event.get("ssde_mGy"), age_years=age, event_index=index,
                       irradiation_event_uid=event.get("irradiation_event_uid"))


def _image_acquisition(images: list[CtImage]) -> Acquisition:
    first = images[0]
    ctdi = [i.ctdivol_mGy for i in images if i.ctdivol_mGy is not None]
    words = " ".join(w for w in (first.body_part, first.series_description) if w)
    return Acquisition(ctdivol_mGy=sum(ctdi) / len(ctdi) if ctdi else None,
                       ctdivol_source="image header" if ctdi else None,
                       phantom=next((i.phantom for i in images if i.phantom), None), region_text=words or None,
                       age_years=first.age_years, irradiation_event_uid=first.irradiation_event_uid)


def ssde_of_files(paths: Iterable[str | Path], spacing_mm: float | None = DEFAULT_SPACING_MM,
                  allow_unverified: bool = False) -> list[dict]:
    """One answer per CT acquisition found in the files (``SsdeResult.to_dict()`` plus where it came from).

    Files that are neither CT images nor CT dose reports are answered too (``status``: ``ignored`` / ``error``).
    """
    return [{"file": path, "status": "ok", **answer.to_dict()} if isinstance(answer, SsdeResult) else answer
            for path, answer in _answers(paths, spacing_mm, allow_unverified)]


def ssde_results(paths: Iterable[str | Path], spacing_mm: float | None = DEFAULT_SPACING_MM,
                 allow_unverified: bool = False) -> list[SsdeResult]:
    """The result of each CT acquisition found in the files (what :func:`ssde_of_files` answers ``ok``)."""
    return [answer for _, answer in _answers(paths, spacing_mm, allow_unverified) if isinstance(answer, SsdeResult)]


def _answers(paths: Iterable[str | Path], spacing_mm: float | None,
             allow_unverified: bool) -> list[tuple[str, SsdeResult | dict]]:
    images: list[CtImage] = []
    reports: list[tuple[str, dict]] = []
    answers: list[tuple[str, SsdeResult | dict]] = []
    for path in map(str, paths):
        try:
            images.append(read_header(path))
            continue
        except NotAnImage as exc:
            why = str(exc)
        try:
            record = extract(Path(path).read_bytes())
        except OSError as exc:
            answers.append((path, {"file": path, "status": "error", "reason": f"cannot read file: {exc.strerror}"}))
            continue
        if record.ok and record.report_kind == "ct" and record.source == "rdsr":
            reports.append((path, record))
        elif record.status == "error":
            answers.append((path, {"file": path, "status": "error", "reason": record.reason}))
        else:
            answers.append((path, {"file": path, "status": "ignored", "reason": f"{why}, nor a CT dose report"}))
    groups = group_images(images)
    by_event = {g.irradiation_event_uid: g for g in groups if g.irradiation_event_uid}
    localizers = [i for i in images if i.localizer]
    claimed: set[int] = set()
    for path, record in reports:
        age = record.patient.age_years
        study_uid = record.study.study_instance_uid
        for index, event in enumerate(record.events):
            if LOCALIZER_ACQUISITION in str(event.get("acquisition_type") or "").lower():
                continue
            group = by_event.get(event.get("irradiation_event_uid"))
            if group is not None:
                claimed.add(id(group))
            study_localizers = [i for i in localizers if i.study_instance_uid == study_uid]
            result = estimate(_event_acquisition(index, event, age), group, study_localizers, spacing_mm,
                              allow_unverified)
            answers.append((path, result))
    for group in groups:
        if id(group) in claimed:
            continue
        study_localizers = [i for i in localizers if i.study_instance_uid == group.study_instance_uid]
        result = estimate(_image_acquisition(group.images), group, study_localizers, spacing_mm, allow_unverified)
        answers.append((group.images[0].path, result))
    for image in images:
        if image.localizer:
            answers.append((image.path, {"file": image.path, "status": "ignored", "reason": "a localizer: it sizes "
                                         "only the acquisitions of its study that have no usable axial images"}))
        elif not image.axial:
            answers.append((image.path, {"file": image.path, "status": "ignored",
                                         "reason": "not an axial slice (a reformat in another plane, or no "
                                                   "orientation)"}))
    return answers
