"""Back-fill from a remote PACS: the dose objects of a date range, fetched through Orthanc's own modalities.

A site that adds Kerma wants its past year.  A back-fill job asks a PACS that Orthanc knows as a modality
(``DicomModalities``) for the studies of each day of the range (C-FIND), lists their series and instances, picks
the dose objects (:mod:`.selection`: RDSRs, dose screens, and optionally one image per series for its header
values) and has the PACS send them to Orthanc (C-MOVE to Orthanc itself), one retrieve at a time, throttled
(:mod:`.throttle`).  The objects arrive through Orthanc's normal storage, so Kerma's ingest records them; the job
counts them as recorded by their SOP Instance UIDs in the ledger.  Its state lives in the dose database
(:mod:`.models`), so it resumes where it was after a restart (:mod:`.runner`).
"""
