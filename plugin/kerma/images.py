"""Where a study's images are in Orthanc, found from its Study Instance UID each time it is asked.

Orthanc names a study by a hash of its Patient ID and Study Instance UID, so an identifier kept or
derived once goes stale when an HL7 merge or a reassignment changes the study's patient (Orthanc then
answers 404).  Asking Orthanc (``/tools/lookup``) when the link is wanted always finds the study as it is
now, and its series, so an event read from an image header links to the series that holds it.

Pure code: the edge passes a client with ``get(uri)`` and ``post(uri, body)`` over Orthanc's REST API.
"""

from __future__ import annotations

from typing import Protocol


class OrthancReader(Protocol):
    def get(self, uri: str) -> object: ...

    def post(self, uri: str, body) -> object: ...


def locate_study(client: OrthancReader, study_instance_uid: str) -> dict | None:
    """Orthanc's identifiers of the study and of each of its series, or None when Orthanc has no such study.

    Returns
    -------
    dict or None
        ``{"orthanc_study_id", "series": [{"series_instance_uid", "orthanc_series_id", "modality",
        "series_description", "instances"}]}``.
    """
    found = [r for r in client.post("/tools/lookup", study_instance_uid) if r.get("Type") == "Study"]
    if not found:
        return None
    study_id = found[0]["ID"]
    series = []
    for item in client.get(f"/studies/{study_id}/series"):
        tags = item.get("MainDicomTags") or {}
        series.append({"series_instance_uid": tags.get("SeriesInstanceUID"), "orthanc_series_id": item.get("ID"),
                       "modality": tags.get("Modality"), "series_description": tags.get("SeriesDescription"),
                       "instances": len(item.get("Instances") or [])})
    return {"orthanc_study_id": study_id, "series": series}
