"""Durable, exactly-once ingestion: Orthanc's /changes log is the queue, the cursor lives in the dose database."""
