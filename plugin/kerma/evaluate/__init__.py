"""Alert rules as data, evaluated over a study's resolved dose records after each ingest batch.

``rules`` (kinds, parameters, scope), ``facts`` (a study as values per level), one module per
kind of finder, ``history`` (the few queries that need other studies), ``evaluator`` (the new alerts, in
the ingest transaction; :mod:`kerma.pipeline` then puts them in the outbox), ``shipped`` (rules and criteria shipped as data).
"""
