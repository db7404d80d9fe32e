"""Per-device correction factors: which factor covers a record, and the record's values corrected by it.

A physicist records, per device and date range, a DAP calibration factor, a Ka,r factor, a CTDIvol check factor or
the table and mattress transmission (:mod:`kerma.correction_kinds`), with the measurement that justifies it.
Ingestion keeps a study's totals corrected (the raw ones beside them) and each event's factors beside its raw values
(:mod:`kerma.resolution`, the pipeline's ``sources`` stage); statistics, DRL comparisons and alerts read the corrected values.
"""
