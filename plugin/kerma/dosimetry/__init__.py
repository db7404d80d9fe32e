"""Patient dosimetry from dose records: skin dose (``skin``)."""
