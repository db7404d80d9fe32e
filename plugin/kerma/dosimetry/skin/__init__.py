"""Peak skin dose and skin dose map of a fluoroscopy or angiography study, from its RDSR's per-event geometry.

    from kerma.dosimetry.skin import skin_dose, render_png
    result = skin_dose(record, phantom="elliptic")       # record: kerma.extract.extract(bytes)
    result.psd_mGy, result.dose_map, result.uncertainty
    render_png(result, "map.png")

Modules: ``beams`` (the record read once into typed inputs), ``geometry`` (settings, frames and the DICOM
conventions, placement of beams), ``phantoms`` (plane, elliptic cylinder), ``corrections`` (inverse square,
backscatter, μen ratio, table; HVL estimate), ``dosemap`` (the map), ``estimate`` (map + bounds + uncertainty),
``result``, ``uncertainty``, ``render`` (PNG). Pure: no database, no Orthanc; CPU work for a worker process.
"""

from __future__ import annotations

from ...record import DoseRecord
from .beams import Beam, Orientation, Patient, Study, study_from_record
from .estimate import estimate_study
from .geometry import PHANTOMS, Geometry
from .render import render_png
from .result import EventDose, SkinDoseResult, Uncertainty

__all__ = ["Beam", "EventDose", "Geometry", "Orientation", "PHANTOMS", "Patient", "SkinDoseResult", "Study",
           "Uncertainty", "estimate_study", "render_png", "skin_dose", "study_from_record"]


def skin_dose(record: DoseRecord, phantom: str = "elliptic", pyskindose_defaults: bool = False,
              geometry: Geometry | None = None) -> SkinDoseResult:
    """Skin dose of the study in one extracted dose record.

    Parameters
    ----------
    record : kerma.record.DoseRecord
        ``kerma.extract.extract(bytes)`` of a projection RDSR.
    phantom : str
        ``plane``, ``cylinder`` or ``elliptic`` (ignored when ``geometry`` is given).
    pyskindose_defaults : bool
        PySkinDose's example geometry as it is (not sized to the patient), to compare with PySkinDose.
    geometry : Geometry, optional
        Every setting explicitly.
    """
    if geometry is None:
        geometry = Geometry.defaults(phantom, pyskindose=pyskindose_defaults)
    return estimate_study(study_from_record(record), geometry)
