"""Which objects of a remote study are dose objects, decided from C-FIND answers alone (pure).

* **RDSRs**: the instances of a series of modality SR whose SOP class may hold a dose report (any structured report
  class but those that never carry dose, as the extractor decides: ``kerma.extract``); every instance of such a
  series when the remote does not answer the SOP class at instance level.  A dose SR class found in any series
  listed is an RDSR too.
* **Dose screens**: the conventions of ``kerma/extract/ocr/data/screen_conventions.csv`` (:mod:`kerma.extract.ocr.detect`)
  over the series' and the instance's attributes.  A series is listed at instance level when its modality is SC or
  OT or its own attributes (series number, description) give a sign; an instance whose SOP class the remote does
  not answer is judged as a Secondary Capture, and one whose Image Type it does not answer as ``DERIVED\\SECONDARY``
  (what every screen is), so that a remote that answers little loses no screen.
* **Header images** (optional): one image per series of the modalities asked for (CT, DX...), the lowest instance
  number that is neither a screen nor a report, for the dose values in its header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from ..extract import DOSE_SR_CLASSES, SR_CLASS_PREFIX, reason_to_skip
from ..extract.ocr.detect import is_dose_screen, signs

RDSR, SCREEN, IMAGE = "rdsr", "screen", "image"
KINDS = (RDSR, SCREEN, IMAGE)  # the order of retrieval: the reports first, then the screens, then header images
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
SCREEN_MODALITIES = ("SC", "OT")  # a series of these may be screens whatever its number or description
SCREEN_IMAGE_TYPE = "DERIVED\\SECONDARY"

# the attributes each C-FIND asks for (return keys); the matching keys are added by the caller
STUDY_KEYS = ("StudyInstanceUID", "StudyDate", "ModalitiesInStudy")
SERIES_KEYS = ("SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription")
INSTANCE_KEYS = ("SOPInstanceUID", "SOPClassUID", "InstanceNumber", "ImageType", "BurnedInAnnotation")


@dataclass(frozen=True)
class Options:
    """What a job fetches.

    Parameters
    ----------
    rdsr, dose_screens : bool
        Fetch the RDSRs, the dose screens.
    header_images : tuple of str
        Modalities (``CT``, ``DX``...) whose every series gives one image for its header values; empty: none.
    modalities : tuple of str
        Only studies with one of these modalities (``ModalitiesInStudy``); empty: every study.
    """

    rdsr: bool = True
    dose_screens: bool = True
    header_images: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"rdsr": self.rdsr, "dose_screens": self.dose_screens, "header_images": list(self.header_images),
                "modalities": list(self.modalities)}

    @classmethod
    def from_json(cls, data: Mapping) -> "Options":
        return cls(rdsr=bool(data.get("rdsr", True)), dose_screens=bool(data.get("dose_screens", True)),
                   header_images=tuple(data.get("header_images") or ()), modalities=tuple(data.get("modalities") or ()))


def values(answer: Mapping, keyword: str) -> list[str]:
    """The values of a C-FIND answer's attribute (multi-valued ones are backslash-joined), upper case."""
    raw = answer.get(keyword)
    if raw is None:
        return []
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split("\\")
    return [str(v).strip().upper() for v in items if str(v).strip()]


def study_wanted(study: Mapping, options: Options) -> bool:
    """Whether a study answer is in the job: it has one of ``options.modalities`` (or the remote did not say)."""
    if not options.modalities:
        return True
    answered = values(study, "ModalitiesInStudy")
    return not answered or bool(set(answered) & set(options.modalities))


def _screen_signs(series: Mapping) -> int:
    return sum(s.points for s in signs() if not s.gate and s.attribute in SERIES_KEYS and s.holds(series))


def series_wanted(series: Mapping, options: Options) -> bool:
    """Whether a series' instances are to be listed (C-FIND at instance level): it may hold dose objects."""
    modality = (values(series, "Modality") or [""])[0]
    if options.rdsr and modality == "SR":
        return True
    if options.dose_screens and (modality in SCREEN_MODALITIES or _screen_signs(series) > 0):
        return True
    return modality in options.header_images


def _number(instance: Mapping) -> float:
    try:
        return float(str(instance.get("InstanceNumber")).strip())
    except ValueError:
        return float("inf")


def _is_report(series: Mapping, instance: Mapping) -> bool:
    sop_class = str(instance.get("SOPClassUID") or "").strip()
    if not sop_class:
        return values(series, "Modality") == ["SR"]
    return sop_class in DOSE_SR_CLASSES or (values(series, "Modality") == ["SR"] and sop_class.startswith(SR_CLASS_PREFIX)
                                            and reason_to_skip(sop_class) is None)


def _is_screen(series: Mapping, instance: Mapping) -> bool:
    header = {**series, **instance}
    if not str(header.get("SOPClassUID") or "").strip():
        header["SOPClassUID"] = SECONDARY_CAPTURE
    if not values(header, "ImageType"):
        header["ImageType"] = SCREEN_IMAGE_TYPE
    return is_dose_screen(header) is not None


def dose_objects(series: Mapping, instances: Sequence[Mapping], options: Options) -> list[tuple[str, str]]:
    """``[(SOP Instance UID, kind)]``: the dose objects among a series' instances (C-FIND answers), in the order
    answered, with at most one header image."""
    found: list[tuple[str, str]] = []
    for instance in instances:
        uid = str(instance.get("SOPInstanceUID") or "").strip()
        if not uid:
            continue
        if _is_report(series, instance):
            if options.rdsr:
                found.append((uid, RDSR))
        elif options.dose_screens and _is_screen(series, instance):
            found.append((uid, SCREEN))
    modality = (values(series, "Modality") or [""])[0]
    if modality in options.header_images and not any(kind == SCREEN for _, kind in found):
        images = [i for i in instances if str(i.get("SOPInstanceUID") or "").strip() and not _is_report(series, i)
                  and reason_to_skip(str(i.get("SOPClassUID") or "").strip()) is None]
        if images:
            found.append((str(min(images, key=_number)["SOPInstanceUID"]).strip(), IMAGE))
    return found
