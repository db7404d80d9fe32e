"""The dose record: what every producer gives for one object (the extractor, MPPS, OCR, a manual entry).

Typed classes mirroring the parts of the DICOM dose templates, as highdicom writes them: :class:`DoseRecord`
(the object and its source), :class:`Patient`, :class:`StudyInfo`, :class:`Device` and :class:`Event` (one
irradiation event).  They are immutable: a step that changes a record makes a new one
(:func:`dataclasses.replace`).  ``DoseRecord.as_dict()`` is the record's JSON (the CLI prints it; the README
documents it).  The store turns a record into rows (:mod:`kerma.ingest.store`) and rows back into a record
(:mod:`kerma.db.records`): one conversion each way.

The lowest layer beside :mod:`kerma.quantities`: imports nothing of Kerma.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields

OK = "ok"


class _Part:
    """A part of a record: its fields by name, as the record's JSON has them."""

    __slots__ = ()
    NAMES: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.NAMES}

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.NAMES)


@dataclass(frozen=True, slots=True)
class Patient(_Part):
    """The patient as the object names them (Patient module, or the report's Patient Characteristics).

    Attributes
    ----------
    patient_id, name, sex : str or None
        Patient ID, Patient's Name, Patient's Sex as written.
    birth_date : str or None
        ISO date.
    age_years : float or None
        Patient's Age, or the age at the study date from the birth date.
    height_m, weight_kg : float or None
        Patient's Size and Weight (0 in the header is absent).
    """

    patient_id: str | None = None
    name: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    age_years: float | None = None
    height_m: float | None = None
    weight_kg: float | None = None


@dataclass(frozen=True, slots=True)
class StudyInfo(_Part):
    """The DICOM study the object belongs to, as the object says (the stored study is :class:`kerma.db.models.Study`).

    Attributes
    ----------
    study_instance_uid, accession_number, study_id : str or None
        Study Instance UID, Accession Number and the DICOM Study ID.
    study_date, study_time : str or None
        ISO date and time.
    study_description, requested_procedure, performed_procedure, institution_name, department : str or None
        As written in the header (an MPPS: its step's description).
    procedure_reported : str or None
        A dose report's Procedure Reported (its code meaning).
    irradiation_start, irradiation_end : str or None
        A dose report's Start and End of X-Ray Irradiation (ISO date-times).
    """

    study_instance_uid: str | None = None
    accession_number: str | None = None
    study_id: str | None = None
    study_date: str | None = None
    study_time: str | None = None
    study_description: str | None = None
    requested_procedure: str | None = None
    performed_procedure: str | None = None
    institution_name: str | None = None
    department: str | None = None
    procedure_reported: str | None = None
    irradiation_start: str | None = None
    irradiation_end: str | None = None


@dataclass(frozen=True, slots=True)
class Device(_Part):
    """The device that made the object: its header's General Equipment module, or the report's Device Observer.

    Attributes
    ----------
    manufacturer, model, station_name, serial_number, software_versions : str or None
        As the header writes them; those a header lacks come from the report's observer.
    device_observer_uid, device_observer_name, location : str or None
        A dose report's Device Observer UID, Name and Physical Location.
    """

    manufacturer: str | None = None
    model: str | None = None
    station_name: str | None = None
    serial_number: str | None = None
    software_versions: str | None = None
    device_observer_uid: str | None = None
    device_observer_name: str | None = None
    location: str | None = None


for _cls in (Patient, StudyInfo, Device):
    _cls.NAMES = tuple(f.name for f in fields(_cls))


@dataclass(frozen=True, slots=True, eq=False)
class _Values(Mapping):
    """Values by name, read-only: a mapping over the dictionary it is given, which it keeps without copying (the
    producer builds it, hands it over and no longer changes it; a step that changes values makes a new one with
    :meth:`changed`).  Two are equal when their items are."""

    _values: Mapping

    def __getitem__(self, key: str):
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key) -> bool:
        return key in self._values

    # the mapping's own methods, not Mapping's generic ones (a Python call per key): the store reads every value
    def get(self, key: str, default=None):
        return self._values.get(key, default)

    def keys(self):
        return self._values.keys()

    def items(self):
        return self._values.items()

    def values(self):
        return self._values.values()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._values!r})"

    def changed(self, **values):
        """A new one of this kind: these values with ``values`` in place of their own."""
        return type(self)({**self._values, **values})

    def as_dict(self) -> dict:
        return dict(self._values)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Event(_Values):
    """One irradiation event: its values by field name, read-only.

    The fields are data (the concept table, :data:`kerma.db.models.EVENT_FIELDS`, plus what a report nests: X-ray
    sources, organ doses...), so an event is a mapping of them (``event["dap_Gycm2"]``, ``event.get("kvp")``), not
    130 attributes.  A stored event also has ``event_id`` (its row).
    """


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Totals(_Values):
    """One report's accumulated values by name, read-only (``totals["dap_total_Gycm2"]``, ``totals.get(key)``).

    A mapping, not an attribute per quantity: its values are ``report``-level quantities of the one vocabulary
    (:mod:`kerma.quantities`, ``data/quantities.csv``), of which a report holds a few, so a new quantity is one row
    of that table.  Its JSON (:meth:`as_dict`) is the ``totals`` of the README's record schema, and what the store
    keeps in ``DoseObject.totals``.

    Parameters
    ----------
    values : mapping
        Kept, not copied.  By quantity key, as the report states them or as Kerma counted and summed them:
        ``ct_dlp_total_mGycm``, ``dap_total_Gycm2``, ``ka_r_total_mGy``, ``event_count``... (float or int; a value
        the report gives as null, or refused as implausible, is None).  Beside them, what says how they came about,
        absent where there is nothing to say:

        - ``derived_from_events`` (list of str): the totals the report lacked and Kerma summed from its events;
        - ``plane``, ``laterality``, ``reference_point_definition`` (str): as a projection report writes them;
          ``planes`` (list of dict): a biplane report's totals per plane (``plane`` is then ``biplane``);
        - ``procedure_step`` (dict): an MPPS's values of its step that do not add up over a study's steps
          (distances, HVL, exposed area...).
    """


# the parts of every ``ok`` record's JSON; another record has those it holds
_IDENTIFIERS = ("status", "reason", "source", "sop_instance_uid", "sop_class_uid", "series_instance_uid",
                "study_instance_uid")
_OK_PARTS = ("modality", "report_kind", "patient", "study", "device", "totals", "events", "warnings", "units")


@dataclass(frozen=True, slots=True)
class DoseRecord:
    """The dose record of one object, whatever its source.

    Attributes
    ----------
    status : str
        ``ok`` (a dose record), ``ignored`` (nothing to read; ``reason`` says why) or ``error``.
    reason : str or None
        Why the object gave no record.
    source : str or None
        ``rdsr``, ``header``, ``ocr``, ``mpps`` or ``manual``; None without a record.
    sop_instance_uid, sop_class_uid, series_instance_uid, study_instance_uid : str or None
        The object's identifiers.
    modality, report_kind : str or None
        The modality, and the report's kind (``ct``, ``projection``, ``radiopharmaceutical``).
    patient : Patient
    study : StudyInfo
    device : Device
    totals : Totals or None
        An ``ok`` record's: the report's accumulated values by quantity (``dap_total_Gycm2``...), with
        ``derived_from_events`` (the totals summed from the events), a projection report's ``planes`` and an MPPS's
        ``procedure_step``.
    events : tuple of Event
    warnings : tuple of str
        What was wrong in the object (a value left out, a value refused).
    units : dict
        Units a report wrote other than the standard's, by field.
    contrast : tuple of dict or None
        Contrast media the image headers say were administered.
    dose_screen : bool or None
        True for a dose screen recognised from its header (its dose is read by OCR).
    ocr_state, ocr : str, dict or None
        A dose screen's OCR state and reading (:mod:`kerma.ingest.screens`).
    review, screen, screen_text : tuple, dict, tuple or None
        What OCR read: the values that need review, the screen's layout, its text when no layout fits.
    device_id : int or None
        A stored record's device in the inventory.
    """

    status: str
    reason: str | None = None
    source: str | None = None
    sop_instance_uid: str | None = None
    sop_class_uid: str | None = None
    series_instance_uid: str | None = None
    study_instance_uid: str | None = None
    modality: str | None = None
    report_kind: str | None = None
    patient: Patient = Patient()
    study: StudyInfo = StudyInfo()
    device: Device = Device()
    totals: Totals | None = None
    events: tuple[Event, ...] = ()
    warnings: tuple[str, ...] = ()
    units: dict = field(default_factory=dict)
    contrast: tuple[dict, ...] | None = None
    dose_screen: bool | None = None
    ocr_state: str | None = None
    ocr: dict | None = None
    review: tuple[dict, ...] | None = None
    screen: dict | None = None
    screen_text: tuple[str, ...] | None = None
    device_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def as_dict(self) -> dict:
        """The record's JSON: its identifiers; an ``ok`` record's parts (another's that it holds); the rest held."""
        out = {name: getattr(self, name) for name in _IDENTIFIERS}
        for name in _OK_PARTS:
            value = getattr(self, name)
            if self.status == OK or (not value.is_empty() if isinstance(value, _Part) else value):
                out[name] = _json(value)
        for name in _EXTRAS:
            value = getattr(self, name)
            if value is not None:
                out[name] = _json(value)
        return out


_EXTRAS = tuple(f.name for f in fields(DoseRecord) if f.name not in _IDENTIFIERS + _OK_PARTS)


def _json(value):
    if isinstance(value, (_Part, _Values)):
        return value.as_dict()
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    return value
