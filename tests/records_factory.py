"""Dose records generated for tests, as kerma.extract.extract returns them; :func:`typed` makes one from its JSON."""

from __future__ import annotations

import itertools

from kerma.record import Device, DoseRecord, Event, Patient, StudyInfo, Totals

_uids = itertools.count(1)


def uid(prefix: str = "2.25.4242") -> str:
    return f"{prefix}.{next(_uids)}"


def ct_study(day: str, station: str, protocol: str, ctdivols: list[float], dlps: list[float], *,
             age: float | None = 50.0, weight: float | None = 75.0, description: str = "CT") -> DoseRecord:
    events = [{"irradiation_event_uid": uid(), "protocol": protocol, "ctdivol_mGy": c, "dlp_mGycm": d,
               "acquisition_type": "Spiral Acquisition"} for c, d in zip(ctdivols, dlps)]
    return _record("CT", "ct", day, station, events, {"ct_dlp_total_mGycm": round(sum(dlps), 9)}, age, weight, description)


def dx_study(day: str, station: str, protocol: str, dap: float, *, age: float | None = 40.0,
             weight: float | None = None) -> DoseRecord:
    events = [{"irradiation_event_uid": uid(), "protocol": protocol, "dap_Gycm2": dap, "event_type": "Stationary Acquisition"}]
    return _record("DX", "projection", day, station, events, {"dap_total_Gycm2": dap}, age, weight, "XR")


def typed(values: dict) -> DoseRecord:
    """The record whose JSON (:meth:`DoseRecord.as_dict`) is ``values``: for a test that writes or changes one as data."""
    parts = {"patient": Patient, "study": StudyInfo, "device": Device}
    fields = {k: parts[k](**v) if k in parts else v for k, v in values.items()}
    fields["events"] = tuple(Event(dict(e)) for e in values.get("events") or ())
    if values.get("totals") is not None:
        fields["totals"] = Totals(dict(values["totals"]))
    for name in ("warnings", "contrast", "review", "screen_text"):
        if fields.get(name) is not None:
            fields[name] = tuple(fields[name])
    return DoseRecord(**fields)


def _record(modality, kind, day, station, events, totals, age, weight, description) -> DoseRecord:
    return typed({
        "status": "ok", "reason": None, "source": "rdsr", "sop_instance_uid": uid(), "sop_class_uid": "1.2.840.10008.5.1.4.1.1.88.67",
        "series_instance_uid": uid(), "study_instance_uid": uid(), "modality": modality, "report_kind": kind,
        "patient": {"patient_id": uid("PID"), "name": "Test^Patient", "sex": "F", "birth_date": None, "age_years": age,
                    "height_m": None, "weight_kg": weight},
        "study": {"study_instance_uid": None, "accession_number": uid("ACC"), "study_date": day, "study_description": description},
        "device": {"manufacturer": "Kerma Test", "model": f"Model {modality}", "station_name": station, "serial_number": station},
        "totals": {**totals, "event_count": len(events)}, "events": events, "warnings": [],
    })


def rf_study(day: str, station: str, protocol: str, *, dap: float, ka_r: float | None = None,
             fluoro_time_s: float | None = None, age: float | None = 60.0) -> DoseRecord:
    """A fluoroscopy (RF) report with one event carrying the whole study's DAP."""
    events = [{"irradiation_event_uid": uid(), "protocol": protocol, "dap_Gycm2": dap, "ka_r_mGy": ka_r,
               "event_type": "Fluoroscopy"}]
    totals = {"dap_total_Gycm2": dap, "ka_r_total_mGy": ka_r, "fluoro_time_total_s": fluoro_time_s}
    return _record("RF", "projection", day, station, events, {k: v for k, v in totals.items() if v is not None},
                   age, None, "Fluoroscopy")
