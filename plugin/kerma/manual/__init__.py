"""Doses entered by hand: values that exist only on paper or on a device's display (mobile C-arms, dental units).

:mod:`.quantities` says what may be entered, in which units and which values are usual; :mod:`.entries` turns an
entry into a record with source ``manual`` through the ingest's store, the lowest of the sources' precedence.
"""
