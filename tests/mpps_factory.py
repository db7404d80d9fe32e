"""MPPS messages as modalities send them, and a pynetdicom SCU to send them (tests only).

Values are chosen so that every unit conversion can be checked by hand:
* fluoroscopy (XA): DAP 123.4 dGy.cm2 -> 12.34 Gy.cm2; Entrance Dose 25 dGy -> 2500 mGy; tube current 12000 uA -> 12 mA;
  exposure time 5000 ms -> 5 s; Exposed Area 200 x 150 mm; Total Time of Fluoroscopy 300 s.
* CT: per exposure CTDIvol (mGy) and the Philips DLP (private ELSCINT1 (00E1,xx21), mGy.cm); their sum is the
  study's total DLP.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.dimse_primitives import N_CREATE
from pynetdicom.sop_class import ModalityPerformedProcedureStep as MPPS, Verification

from kerma.mpps.service import serve
from support.dimse import release, responses_to_sender

CALLING_AET = "KERMA-TEST"  # declared in every OrthancProcess (support.orthanc.CALLING_AET)
CT_EXPOSURES = [  # (kVp, CTDIvol mGy, DLP mGy.cm)
    (120.0, 12.5, 400.25),
    (100.0, 3.75, 60.5),
]


def created(study_uid: str, *, modality: str = "XA", accession: str | None = "ACC-MPPS-1", patient_id: str = "MPPS-P1",
            status: str | None = "IN PROGRESS") -> Dataset:
    """The Attribute List of an N-CREATE (PS3.4 Table F.7.2-1, the attributes a modality fills at the start)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Anna"
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19610315"
    ds.PatientSex = "F"
    step = Dataset()
    step.StudyInstanceUID = study_uid
    step.AccessionNumber = accession
    step.RequestedProcedureDescription = "Coronary angiography" if modality == "XA" else "CT abdomen"
    step.ScheduledProcedureStepID = "SPS1"
    ds.ScheduledStepAttributesSequence = [step]
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = CALLING_AET
    ds.PerformedStationName = "CATHLAB1" if modality == "XA" else "CT1"
    ds.PerformedProcedureStepStartDate = "20260114"
    ds.PerformedProcedureStepStartTime = "101500"
    ds.PerformedProcedureStepDescription = "Coronary angiography" if modality == "XA" else "CT abdomen"
    ds.Modality = modality
    if status is not None:
        ds.PerformedProcedureStepStatus = status
    ds.PerformedSeriesSequence = []
    return ds


def completed_fluoroscopy(status: str = "COMPLETED") -> Dataset:
    """The N-SET that ends a fluoroscopy step with its Radiation Dose module (PS3.3 C.4.16)."""
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate = "20260114"
    ds.PerformedProcedureStepEndTime = "104500"
    ds.ImageAndFluoroscopyAreaDoseProduct = "123.4"  # dGy.cm2
    ds.TotalTimeOfFluoroscopy = 300  # s
    ds.TotalNumberOfExposures = 2
    ds.EntranceDose = 25  # dGy
    ds.ExposedArea = [200, 150]  # mm
    ds.DistanceSourceToEntrance = "700"
    ds.CommentsOnRadiationDose = "two runs"
    pulsed, continuous = Dataset(), Dataset()
    pulsed.RadiationMode, pulsed.KVP, pulsed.XRayTubeCurrentInuA, pulsed.ExposureTime = "PULSED", "80", "12000", 5000
    pulsed.FilterType, pulsed.FilterMaterial = "FLAT", ["COPPER", "ALUMINUM"]
    continuous.RadiationMode, continuous.KVP, continuous.XRayTubeCurrentInuA, continuous.ExposureTime = \
        "CONTINUOUS", "70", "3500", 240000
    ds.ExposureDoseSequence = [pulsed, continuous]
    if status == "DISCONTINUED":
        reason = Dataset()
        reason.CodeValue, reason.CodingSchemeDesignator, reason.CodeMeaning = "110514", "DCM", "Incorrect worklist entry selected"
        ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = [reason]
    return ds


def completed_ct() -> Dataset:
    """The N-SET that ends a CT step: one Exposure Dose Sequence item per acquisition, CTDIvol and Philips' DLP."""
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "COMPLETED"
    ds.TotalNumberOfExposures = len(CT_EXPOSURES)
    items = []
    for kvp, ctdivol, dlp in CT_EXPOSURES:
        item = Dataset()
        item.KVP = str(kvp)
        item.CTDIvol = ctdivol
        item.private_block(0x00E1, "ELSCINT1", create=True).add_new(0x21, "DS", str(dlp))
        items.append(item)
    ds.ExposureDoseSequence = items
    return ds


def completed_without_dose() -> Dataset:
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "COMPLETED"
    ds.PerformedProcedureStepEndDate = "20260114"
    return ds


class Scu:
    """One association with an MPPS SCP; each call returns (status, the response's Error Comment, Error ID)."""

    def __init__(self, assoc):
        self.assoc = assoc

    def create(self, ds: Dataset, uid: str | None):
        status, attributes = self.assoc.send_n_create(ds, MPPS, uid)
        return _answer(status), attributes

    def set(self, ds: Dataset, uid: str):
        status, _ = self.assoc.send_n_set(ds, MPPS, uid)
        return _answer(status)

    def raw_create(self, attribute_list: bytes, uid: str):
        """An N-CREATE whose Attribute List is the bytes given (a broken data set)."""
        request = N_CREATE()
        request.MessageID = 77
        request.AffectedSOPClassUID = MPPS
        request.AffectedSOPInstanceUID = uid
        request.AttributeList = BytesIO(attribute_list)
        context = next(c for c in self.assoc.accepted_contexts if c.abstract_syntax == MPPS)
        self.assoc._reactor_checkpoint.clear()  # as pynetdicom's own send_*(): the reactor must not take the answer
        while not self.assoc._is_paused:
            time.sleep(0.0001)
        try:
            self.assoc.dimse.send_msg(request, context.context_id)
            _, response = self.assoc.dimse.get_msg(block=True)
        finally:
            self.assoc._reactor_checkpoint.set()
        return _answer(response)

    def echo(self) -> int:
        return self.assoc.send_c_echo().Status


def _answer(status):
    if status is None or not hasattr(status, "Status"):
        return None
    return (int(status.Status), getattr(status, "ErrorComment", None), getattr(status, "ErrorID", None))


@contextmanager
def scu(port: int, calling: str = CALLING_AET, called: str = "KERMA", timeout: float = 20):
    """An association with the MPPS SCP on 127.0.0.1:port; None when it was rejected."""
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.add_requested_context(MPPS)
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    try:
        yield Scu(responses_to_sender(assoc)) if assoc.is_established else None
    finally:
        release(assoc)


def new_uid() -> str:
    return generate_uid()


def serve_in_test_process_tree(*args) -> None:
    """The listener's entry point (kerma.mpps.service.serve) as the tests spawn it: under libfaketime (the fake-date
    passes of scripts/fake_dates.sh) time.sleep fails with EINVAL, so the child waits as conftest makes the tests wait."""
    if "FAKETIME" in os.environ:
        time.sleep = lambda seconds: threading.Event().wait(seconds)
    serve(*args)
