"""Tables of the dose database.

One study row per Study Instance UID; one dose-object row per SOP Instance
UID that Kerma has seen (ok, ignored or error: the ingest ledger); one
irradiation-event row per event.  Event columns are the scalar event fields
of ``extract/data/rdsr_concepts.csv``: units are in their names.  Repeating
groups (filters, X-ray sources, organ doses) stay in ``details``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ..extract.concepts import event_fields


class Base(DeclarativeBase):
    pass


class IngestCursor(Base):
    """Position in Orthanc's /changes log up to which every change has been turned into records."""

    __tablename__ = "ingest_cursor"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())


class Study(Base):
    __tablename__ = "study"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_instance_uid: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    accession_number: Mapped[str | None] = mapped_column(String(64), index=True)
    study_id: Mapped[str | None] = mapped_column(String(64))
    study_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    study_time: Mapped[str | None] = mapped_column(String(32))
    study_description: Mapped[str | None] = mapped_column(String(256))
    requested_procedure: Mapped[str | None] = mapped_column(String(256))
    performed_procedure: Mapped[str | None] = mapped_column(String(256))
    procedure_reported: Mapped[str | None] = mapped_column(String(256))
    institution_name: Mapped[str | None] = mapped_column(String(256))
    department: Mapped[str | None] = mapped_column(String(256))
    patient_id: Mapped[str | None] = mapped_column(String(64), index=True)
    patient_name: Mapped[str | None] = mapped_column(String(256))
    patient_sex: Mapped[str | None] = mapped_column(String(16))
    patient_birth_date: Mapped[dt.date | None] = mapped_column(Date)
    patient_age_years: Mapped[float | None] = mapped_column(Float)
    patient_height_m: Mapped[float | None] = mapped_column(Float)
    patient_weight_kg: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    objects: Mapped[list["DoseObject"]] = relationship(back_populates="study", order_by="DoseObject.id")


class DoseObject(Base):
    """One DICOM instance Kerma has processed, whatever the outcome."""

    __tablename__ = "dose_object"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    sop_class_uid: Mapped[str | None] = mapped_column(String(64))
    orthanc_id: Mapped[str | None] = mapped_column(String(64), index=True)
    change_seq: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(16))
    modality: Mapped[str | None] = mapped_column(String(16), index=True)
    report_kind: Mapped[str | None] = mapped_column(String(32))
    study_id: Mapped[int | None] = mapped_column(ForeignKey("study.id"), index=True)
    manufacturer: Mapped[str | None] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(128))
    station_name: Mapped[str | None] = mapped_column(String(128), index=True)
    serial_number: Mapped[str | None] = mapped_column(String(128))
    software_versions: Mapped[str | None] = mapped_column(String(256))
    device_observer_uid: Mapped[str | None] = mapped_column(String(64))
    totals: Mapped[dict | None] = mapped_column(JSON)
    warnings: Mapped[list | None] = mapped_column(JSON)
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    study: Mapped[Study | None] = relationship(back_populates="objects")
    events: Mapped[list["IrradiationEvent"]] = relationship(
        back_populates="dose_object", cascade="all, delete-orphan", order_by="IrradiationEvent.event_index"
    )


EVENT_FIELDS = event_fields()


def _event_namespace() -> dict:
    namespace = {
        "__tablename__": "irradiation_event",
        "__doc__": "One irradiation event; scalar fields as columns named with their units.",
        "__table_args__": (Index("ix_event_study_uid", "study_id", "irradiation_event_uid"),),
        "__annotations__": {},
        "id": mapped_column(Integer, primary_key=True),
        "dose_object_id": mapped_column(ForeignKey("dose_object.id", ondelete="CASCADE"), nullable=False, index=True),
        "study_id": mapped_column(ForeignKey("study.id")),
        "event_index": mapped_column(Integer, nullable=False),
        "details": mapped_column(JSON),
        "dose_object": relationship("DoseObject", back_populates="events"),
        "study": relationship("Study"),
    }
    for name, is_measurement in EVENT_FIELDS.items():
        namespace[name] = mapped_column(Float if is_measurement else String(64) if name.endswith("_uid") else Text)
    return namespace


IrradiationEvent = type("IrradiationEvent", (Base,), _event_namespace())
