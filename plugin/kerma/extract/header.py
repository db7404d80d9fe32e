"""Dose records from image headers, for devices that send no RDSR (ESR basic level).

Which attributes are read, in which unit they are written and which field
they fill is data (``data/header_attributes.csv``, ``data/private_attributes.csv``).
Pixel data is never read: :mod:`dicomfile` stops before it.

Each image gives the irradiation event it shows, and the contrast administrations its header states
(:mod:`.contrast`).  A CT slice gives a
one-slice observation; :mod:`kerma.dose.aggregate` turns the slices of an
acquisition into one event.  CT dose-information screens (an Exposure Dose
Sequence) give one event per item.
"""

from __future__ import annotations

from . import contrast
from .concepts import HeaderRow, PrivateRow, event_fields, header_rows, private_rows, value_labels
from .dicomfile import DicomObject, Element
from .dicomtime import iso_date, iso_datetime
from .indicators import vendor_indicator
from .srtree import MEANING
from .units import UnitError, convert

MODALITY = 0x00080060
SOP_INSTANCE_UID = 0x00080018
SOP_CLASS_UID = 0x00080016
# CR Image Storage; DX, MG and IO image storage classes are below it (…1.1.1.1, …1.1.1.2, …1.1.1.3)
RADIOGRAPHY_CLASSES = "1.2.840.10008.5.1.4.1.1.1"
SERIES_INSTANCE_UID = 0x0020000E
SERIES_NUMBER = 0x00200011
IRRADIATION_EVENT_UID = 0x00083010
EXPOSURE_DOSE_SEQUENCE = 0x0040030E
RADIOPHARMACEUTICAL_INFORMATION = 0x00540016
RADIOPHARMACEUTICAL_START_TIME = 0x00181072
IMAGE_TYPE = 0x00080008
ACQUISITION_NUMBER = 0x00200012
FRAME_OF_REFERENCE_UID = 0x00200052
IMAGE_POSITION = 0x00200032
SLICE_LOCATION = 0x00201041
ACQUISITION_DATETIME = 0x0008002A
ACQUISITION_DATE = 0x00080022
ACQUISITION_TIME = 0x00080032
STUDY_DATE = 0x00080020
PRESENTATION_INTENT = 0x00080068

PROJECTION_MODALITIES = {"CR", "DX", "MG", "PX", "IO", "XA", "RF"}
SINGLE_EXPOSURE_MODALITIES = {"CR", "DX", "MG", "PX", "IO"}
NM_MODALITIES = {"NM", "PT"}


class NoHeaderDose(Exception):
    """The image is valid but its header describes no exposure or administration."""


class HeaderReader:
    def __init__(self, obj: DicomObject):
        self.obj = obj
        self.ds = obj.elements
        self.labels = value_labels()
        self.warnings: list[str] = []
        self.units: dict[str, set[str]] = {}  # field -> the units its attributes are written in (PS3.3's, UCUM)
        self.modality = (obj.text(self.ds, MODALITY) or "").upper()

    def read(self) -> dict:
        if self.modality == "CT":
            kind, events = "ct", self._ct()
        elif self.modality in PROJECTION_MODALITIES:
            kind, events = "projection", [self._projection()]
        elif self.modality in NM_MODALITIES:
            kind, events = "radiopharmaceutical", self._radiopharmaceutical()
        else:
            raise NoHeaderDose(f"modality {self.modality or 'unknown'} carries no dose attributes Kerma reads")
        return {
            "kind": kind,
            "modality": "NM" if kind == "radiopharmaceutical" else self.modality,
            "document": {},
            "totals": {},
            "events": events,
            "contrast": contrast.administrations(self.obj, lambda item, scopes: self._fill(item, scopes, {})),
            "warnings": self.warnings,
            "units": {field: sorted(codes) for field, codes in sorted(self.units.items())},
        }

    # --- per modality ----------------------------------------------------------------------

    def _ct(self) -> list[dict]:
        summary = self.obj.items(self.ds, EXPOSURE_DOSE_SEQUENCE)
        if summary:  # a dose-information screen: one event per exposure it lists
            return [self._fill(item, ("image", "ct"), self._new_event(item)) for item in summary]
        rows = [r for r in header_rows() if r.field == "ctdivol_mGy"]
        if not any(r.tag in self.ds and self.ds[r.tag].value for r in rows):
            raise NoHeaderDose("CT image without CTDIvol (0018,9345): no dose in its header")
        event = self._fill(self.ds, ("image", "ct"), self._new_event(self.ds))
        event["image"] = self._image_facts()
        return [event]

    def _projection(self) -> dict:
        scopes = ("image", "projection", "mg") if self.modality == "MG" else ("image", "projection")
        rows = [r for r in header_rows() if r.scope in scopes and r.is_measurement]
        unknown = not any(r.tag in self.ds for r in rows)
        if unknown and not self._is_radiograph():
            raise NoHeaderDose("no exposure attributes in the header (kVp, mAs, DAP, exposure index, dose)")
        event = self._fill(self.ds, scopes, self._new_event(self.ds))
        event.update(vendor_indicator(self.obj, self.ds))
        if unknown:  # an exposure still (older CR readers write no dose): counted, its dose unknown
            event["dose_unknown"] = True
            self.warnings.append("no dose attributes in the header (DAP, kVp, mAs, dose): an exposure whose dose is unknown")
        event["irradiation_event_uid"] = event["irradiation_event_uid"] or self.obj.text(self.ds, SOP_INSTANCE_UID)
        if self.modality in SINGLE_EXPOSURE_MODALITIES:
            event["event_type"] = "Stationary Acquisition"
        event["image"] = self._image_facts()
        return event

    def _radiopharmaceutical(self) -> list[dict]:
        events = []
        for item in self.obj.items(self.ds, RADIOPHARMACEUTICAL_INFORMATION):
            event = self._fill(item, ("nm",), dict.fromkeys(event_fields()))
            if event["administration_start"] is None:
                day = self.obj.text(self.ds, ACQUISITION_DATE) or self.obj.text(self.ds, STUDY_DATE)
                time = self.obj.text(item, RADIOPHARMACEUTICAL_START_TIME)
                if iso_date(day) and time:
                    event["administration_start"] = iso_datetime(day + time)
            if event["administered_activity_MBq"] is not None or event["radiopharmaceutical"] or event["radionuclide"]:
                events.append(event)
        if not events:
            raise NoHeaderDose("no radiopharmaceutical information (0054,0016) in the header")
        return events

    def _is_radiograph(self) -> bool:
        """A primary CR, DX, MG or IO image: one exposure, whatever its header says of the dose."""
        sop_class = self.obj.text(self.ds, SOP_CLASS_UID) or ""
        image_type = [v.strip().upper() for v in (self.obj.text(self.ds, IMAGE_TYPE) or "").split("\\")]
        radiography = sop_class == RADIOGRAPHY_CLASSES or sop_class.startswith(RADIOGRAPHY_CLASSES + ".")
        primary = len(image_type) < 2 or image_type[1] != "SECONDARY"
        return self.modality in SINGLE_EXPOSURE_MODALITIES and radiography and primary

    # --- reading attributes ------------------------------------------------------------------

    def _new_event(self, item: dict[int, Element]) -> dict:
        event = dict.fromkeys(event_fields())
        event["irradiation_event_uid"] = self.obj.text(item, IRRADIATION_EVENT_UID)
        return event

    def _fill(self, item: dict[int, Element], scopes: tuple[str, ...], event: dict) -> dict:
        for row in header_rows():
            if row.scope in scopes and event.get(row.field) is None and row.tag in item:
                event[row.field] = self._value(item, row)
        for row in private_rows():
            if row.scope in scopes and event.get(row.field) is None:
                event[row.field] = self._private_value(item, row)
        return event

    def _value(self, item: dict[int, Element], row: HeaderRow):
        obj, kind = self.obj, row.dicom_unit
        if kind is None:
            return obj.text(item, row.tag)
        if kind == "label":
            text = obj.text(item, row.tag)
            return self.labels.get(("CS", text.upper()), text) if text else None
        if kind == "code":
            codes = obj.items(item, row.tag)
            return obj.text(codes[0], MEANING) if codes else None
        if kind == "datetime":
            return iso_datetime(obj.text(item, row.tag))
        value = obj.number(item, row.tag)
        if value is None and obj.text(item, row.tag):
            self.warnings.append(f"{row.keyword} is not a number: ignored")
        if value is not None and row.implausible_below is not None and 0 < value < row.implausible_below:
            self.warnings.append(f"{row.keyword} {value:g} is not credible in {kind}: read in {row.read_as}")
            kind = row.read_as
        return self._measurement(value, kind, row.unit, row.keyword, row.field)

    def _private_value(self, item: dict[int, Element], row: PrivateRow):
        for block in range(0x10, 0x100):
            creator_tag = (row.group << 16) | block
            if creator_tag not in item:
                continue
            if self.obj.text(item, creator_tag) == row.creator:
                tag = (row.group << 16) | (block << 8) | row.offset
                return self._measurement(self.obj.number(item, tag), row.dicom_unit, row.unit, row.field, row.field)
        return None

    def _measurement(self, value: float | None, source: str, target: str, name: str, field: str) -> float | None:
        if value is None:
            return None
        self.units.setdefault(field, set()).add(source)
        try:
            return convert(value, source, target)
        except UnitError as exc:
            self.warnings.append(f"{name}: {exc}")
            return None

    def _image_facts(self) -> dict:
        """What tells one acquisition, reconstruction or copy from another (used to group images)."""
        obj, ds = self.obj, self.ds
        image_type = [v.strip().upper() for v in (obj.text(ds, IMAGE_TYPE) or "").split("\\")]
        position = (obj.text(ds, IMAGE_POSITION) or "").split("\\")
        try:
            z = float(position[2]) if len(position) == 3 else obj.number(ds, SLICE_LOCATION)
        except ValueError:
            z = obj.number(ds, SLICE_LOCATION)
        acquired = obj.text(ds, ACQUISITION_DATETIME)
        if not acquired and obj.text(ds, ACQUISITION_DATE) and obj.text(ds, ACQUISITION_TIME):
            acquired = obj.text(ds, ACQUISITION_DATE) + obj.text(ds, ACQUISITION_TIME)
        return {
            "sop_instance_uid": obj.text(ds, SOP_INSTANCE_UID),
            "series_instance_uid": obj.text(ds, SERIES_INSTANCE_UID),
            "series_number": obj.number(ds, SERIES_NUMBER),  # a dose screen's rows name series by number
            "acquisition_number": obj.number(ds, ACQUISITION_NUMBER),
            "frame_of_reference_uid": obj.text(ds, FRAME_OF_REFERENCE_UID),
            "image_type": [v for v in image_type if v],
            "z_mm": z,
            "acquisition_datetime": iso_datetime(acquired),
            "presentation_intent": obj.text(ds, PRESENTATION_INTENT),
        }
