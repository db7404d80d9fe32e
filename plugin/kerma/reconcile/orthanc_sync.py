"""The same correction applied to the study in Orthanc, through Orthanc's REST API.

Pure code: the edge passes a client with ``post(uri, body) -> answer`` (Orthanc's
in-process REST API); tests pass their own.  Orthanc finds the study by its
Study Instance UID (``/tools/lookup``) and rewrites it with
``/studies/{id}/modify``, keeping every UID so the dose records still name the same
objects, as an asynchronous job (a synchronous modify would hold the GIL while
Orthanc rewrites every instance).  With the same UIDs and PatientID each rewritten
instance has the same Orthanc ID as the original: Orthanc replaces it only when its
configuration says ``"OverwriteInstances": true`` (else the job fails, visible in
Orthanc's /jobs), and the source must be kept, as deleting it would delete the copy.

Orthanc refuses to change the PatientID when it modifies a study (it would move the
study to another patient resource), so a correction that gives a study to another
patient ID stays in Kerma and is reported as not applied in Orthanc.
"""

from __future__ import annotations

from typing import Protocol

# Study column -> DICOM keyword
DICOM_KEYWORDS = {"patient_id": "PatientID", "patient_name": "PatientName", "patient_birth_date": "PatientBirthDate",
                  "patient_sex": "PatientSex", "accession_number": "AccessionNumber"}


class OrthancRest(Protocol):
    def post(self, uri: str, body) -> object: ...


def correct_study(client: OrthancRest, study_instance_uid: str, values: dict) -> str:
    """Start Orthanc's modification of the study to ``values`` (Study columns); return what happened, for the record.

    Never raises: a failure is the returned text, and Kerma's own correction stands.
    """
    replace = {}
    for column, keyword in DICOM_KEYWORDS.items():
        if column in values:
            value = values[column]
            if column == "patient_birth_date" and value:
                value = value.replace("-", "")
            replace[keyword] = value or ""
    if "PatientID" in replace:
        return "not applied in Orthanc: Orthanc does not change the PatientID of a study"
    if not replace:
        return "nothing to change in Orthanc"
    try:
        found = [r for r in client.post("/tools/lookup", study_instance_uid) if r.get("Type") == "Study"]
        if not found:
            return "not applied in Orthanc: no study with this Study Instance UID"
        job = client.post(f"/studies/{found[0]['ID']}/modify", {
            "Replace": replace,
            "Keep": ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"],
            "Force": True,  # Orthanc asks for it before it keeps the UIDs
            "KeepSource": True,  # the copy replaces it (same Orthanc ID)
            "Asynchronous": True,
        })
    except Exception as exc:  # Orthanc answers errors by raising; the correction in Kerma stands
        return f"Orthanc refused the modification: {type(exc).__name__}: {exc}"
    return f"Orthanc job {job.get('ID')} started"
