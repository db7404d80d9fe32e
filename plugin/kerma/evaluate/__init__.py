"""Alert rules as data, evaluated over a study's resolved dose records after each ingest batch.

``rules`` (kinds, parameters, scope), ``facts`` (a study as values per level), one module per
kind of check, ``history`` (the few queries that need other studies), ``evaluator`` (alerts and
their outbox messages in the ingest transaction), ``shipped`` (rules and criteria shipped as data).
"""
