"""HL7 v2 interfaces: an MLLP listener for ADT (patient updates, merges) and ORM/OMI (orders).

Pure code (no ``orthanc``): :mod:`messages` turns bytes into dataclasses with
hl7apy, :mod:`adt` and :mod:`orders` apply them to the database, :mod:`receiver`
does one message per transaction and answers with :mod:`ack`, :mod:`mllp`
frames it on a TCP socket.
"""
