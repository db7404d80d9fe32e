"""Tables of the dose database.

One study row per Study Instance UID; one dose-object row per SOP Instance
UID that Kerma has seen (ok, ignored or error: the ingest ledger); one
irradiation-event row per event.  Event columns are the scalar event fields
of ``extract/data/rdsr_concepts.csv``: units are in their names.  Repeating
groups (filters, X-ray sources, organ doses) stay in ``details``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, false, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .. import clock
from .received import ReceivedText


class Base(DeclarativeBase):
    pass


class IngestCursor(Base):
    """Position in Orthanc's /changes log up to which every change has been turned into records."""

    __tablename__ = "ingest_cursor"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), onupdate=clock.now)


class Study(Base):
    __tablename__ = "study"
    # the worker finds the few studies due for a refresh without reading the others
    __table_args__ = (Index("ix_study_refresh_due", "id", sqlite_where=text("refresh_due = 1"),
                            postgresql_where=text("refresh_due")),
                      Index("ix_study_dosimetry_due", "id", sqlite_where=text("dosimetry_due = 1"),
                            postgresql_where=text("dosimetry_due")))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_instance_uid: Mapped[str] = mapped_column(ReceivedText(64), unique=True, nullable=False)
    accession_number: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)
    study_id: Mapped[str | None] = mapped_column(ReceivedText())
    study_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    study_time: Mapped[str | None] = mapped_column(ReceivedText())
    study_description: Mapped[str | None] = mapped_column(ReceivedText())
    requested_procedure: Mapped[str | None] = mapped_column(ReceivedText())
    performed_procedure: Mapped[str | None] = mapped_column(ReceivedText())
    procedure_reported: Mapped[str | None] = mapped_column(ReceivedText())
    institution_name: Mapped[str | None] = mapped_column(ReceivedText())
    department: Mapped[str | None] = mapped_column(ReceivedText())
    patient_id: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)
    patient_name: Mapped[str | None] = mapped_column(ReceivedText())
    patient_sex: Mapped[str | None] = mapped_column(ReceivedText())
    patient_birth_date: Mapped[dt.date | None] = mapped_column(Date)
    patient_age_years: Mapped[float | None] = mapped_column(Float)
    patient_height_m: Mapped[float | None] = mapped_column(Float)
    patient_weight_kg: Mapped[float | None] = mapped_column(Float)
    # where height and weight came from: "dicom" (the header) or "his" (HL7 OBX), see kerma.reconcile.his
    patient_height_source: Mapped[str | None] = mapped_column(String(16))
    patient_weight_source: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())
    # the study's standard exam (exam-level mapping) and which rule chose it
    standard_exam_id: Mapped[int | None] = mapped_column(ForeignKey("standard_exam.id"), index=True)
    mapping_rule_id: Mapped[int | None] = mapped_column(ForeignKey("mapping_rule.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"), index=True)  # of the counted records
    # dose totals from the source that study_dose.resolve_study chose, kept for statistics at scale
    dose_source: Mapped[str | None] = mapped_column(String(16))
    dose_sources: Mapped[dict | None] = mapped_column(JSON)  # the source per dose family, {"CT": "rdsr"}
    dose_totals: Mapped[dict | None] = mapped_column(JSON)  # every resolved total, as the study's answers show them
    # the device correction factors applied to the totals above and the totals as the devices reported them
    # ({"factors": {"dap": {...}}, "uncorrected_totals": {...}}); null when no factor covers the study (kerma.corrections)
    dose_corrections: Mapped[dict | None] = mapped_column(JSON)
    # resolve, classify and evaluate again when the ingest worker is idle (kerma.db.states.mark_refresh_due)
    refresh_due: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    # its derived doses (kerma.derived) to be looked at again: set by every refresh, cleared by the dosimetry thread
    dosimetry_due: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    # the fingerprint of the inputs its derived doses were computed from (kerma.derived.inputs); null: never computed
    dosimetry_inputs_sha256: Mapped[str | None] = mapped_column(String(64))
    total_dlp_mGycm: Mapped[float | None] = mapped_column(Float)
    total_dap_Gycm2: Mapped[float | None] = mapped_column(Float)
    total_ka_r_mGy: Mapped[float | None] = mapped_column(Float)
    total_fluoro_time_s: Mapped[float | None] = mapped_column(Float)
    total_agd_left_mGy: Mapped[float | None] = mapped_column(Float)
    total_agd_right_mGy: Mapped[float | None] = mapped_column(Float)
    total_activity_MBq: Mapped[float | None] = mapped_column(Float)
    # contrast media (kerma.extract.contrast): each administration once, from the headers else the HIS, and the totals
    contrast: Mapped[list | None] = mapped_column(JSON)
    total_contrast_volume_mL: Mapped[float | None] = mapped_column(Float)
    total_iodine_mg: Mapped[float | None] = mapped_column(Float)
    total_iodine_mg_per_kg: Mapped[float | None] = mapped_column(Float)
    event_count: Mapped[int | None] = mapped_column(Integer)
    # the order this study was assigned to by hand (reconciliation); matching otherwise uses accession / patient + date
    order_id: Mapped[int | None] = mapped_column(ForeignKey("imaging_order.id"), index=True)
    objects: Mapped[list["DoseObject"]] = relationship(back_populates="study", order_by="DoseObject.id")


class Device(Base):
    """An X-ray or NM device as its objects identify it (the ESR's device inventory)."""

    __tablename__ = "device"
    __table_args__ = (Index("ix_device_identity", "manufacturer", "model", "station_name", "serial_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manufacturer: Mapped[str | None] = mapped_column(ReceivedText(128))
    model: Mapped[str | None] = mapped_column(ReceivedText(128))
    station_name: Mapped[str | None] = mapped_column(ReceivedText(128))
    serial_number: Mapped[str | None] = mapped_column(ReceivedText(128))
    device_observer_uid: Mapped[str | None] = mapped_column(ReceivedText(64))
    software_versions: Mapped[str | None] = mapped_column(ReceivedText())
    modality: Mapped[str | None] = mapped_column(ReceivedText(16))
    first_seen: Mapped[dt.date | None] = mapped_column(Date)
    last_seen: Mapped[dt.date | None] = mapped_column(Date)


class StandardExam(Base):
    """A standard examination name: RadLex Playbook, a national DRL list, or the site's own."""

    __tablename__ = "standard_exam"
    __table_args__ = (Index("ux_standard_exam_code", "scheme", "code", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme: Mapped[str] = mapped_column(String(256), nullable=False)  # "RadLex Playbook", "site", a DRL list name
    code: Mapped[str] = mapped_column(String(64), nullable=False)  # RPID, or the scheme's own identifier
    name: Mapped[str] = mapped_column(Text, nullable=False)
    modality: Mapped[str | None] = mapped_column(String(16), index=True)
    body_region: Mapped[str | None] = mapped_column(String(128))
    patient_group: Mapped[str | None] = mapped_column(String(32))
    loinc: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(Text)


class MappingRule(Base):
    """An ordered rule that names the standard exam of a study (level exam) or an event (level exposure)."""

    __tablename__ = "mapping_rule"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(256))
    level: Mapped[str] = mapped_column(String(16), nullable=False)  # "exam" or "exposure"
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=100)
    modality: Mapped[str | None] = mapped_column(String(16))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))  # None: every device
    conditions: Mapped[list] = mapped_column(JSON, nullable=False)
    standard_exam_id: Mapped[int] = mapped_column(ForeignKey("standard_exam.id"), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), onupdate=clock.now)


class DrlSet(Base):
    """A set of diagnostic reference levels (national, local) or achievable doses, with its source."""

    __tablename__ = "drl_set"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # "national", "local", "achievable"
    country_body: Mapped[str | None] = mapped_column(String(128))
    year: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    values: Mapped[list["DrlValue"]] = relationship(back_populates="drl_set", cascade="all, delete-orphan")


class Setting(Base):
    """Kerma's own settings that live with the data (never a secret: see kerma.privacy.key)."""

    __tablename__ = "kerma_setting"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class DrlValue(Base):
    __tablename__ = "drl_value"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drl_set_id: Mapped[int] = mapped_column(ForeignKey("drl_set.id", ondelete="CASCADE"), nullable=False, index=True)
    standard_exam_id: Mapped[int] = mapped_column(ForeignKey("standard_exam.id"), nullable=False, index=True)
    patient_group: Mapped[str] = mapped_column(String(32), nullable=False)  # "adult", "paediatric", "any"
    age_min_years: Mapped[float | None] = mapped_column(Float)
    age_max_years: Mapped[float | None] = mapped_column(Float)
    weight_min_kg: Mapped[float | None] = mapped_column(Float)
    weight_max_kg: Mapped[float | None] = mapped_column(Float)
    quantity: Mapped[str] = mapped_column(String(64), nullable=False)  # a record field: ctdivol_mGy, total_dlp_mGycm...
    level: Mapped[str] = mapped_column(String(16), nullable=False)  # "exposure" or "exam"
    value: Mapped[float] = mapped_column(Float, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    verification: Mapped[str | None] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    drl_set: Mapped[DrlSet] = relationship(back_populates="values")


class DoseObject(Base):
    """One DICOM instance Kerma has processed, whatever the outcome."""

    __tablename__ = "dose_object"
    __table_args__ = (
        Index("ix_dose_object_device_study", "device_id", "study_id"),  # the device inventory's counts
        Index("ix_dose_object_study_modality", "study_id", "modality", "status"),  # study filters by modality
        # one record per SOP Instance UID: another instance Orthanc stores with the same UID gets a row pointing to it
        Index("ux_dose_object_sop_instance_uid", "sop_instance_uid", unique=True,
              sqlite_where=text("duplicate_of_id IS NULL"), postgresql_where=text("duplicate_of_id IS NULL")),
        # health counts the records deleted in PACS (a few) without reading the others (migration 0026)
        Index("ix_dose_object_deleted_in_pacs", "id", sqlite_where=text("deleted_in_pacs_at IS NOT NULL"),
              postgresql_where=text("deleted_in_pacs_at IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(ReceivedText(64), nullable=False, index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("dose_object.id", name="fk_dose_object_duplicate_of"))
    deleted_in_pacs_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # Orthanc deleted the instance
    sop_class_uid: Mapped[str | None] = mapped_column(ReceivedText(64))
    orthanc_id: Mapped[str | None] = mapped_column(String(64), index=True)
    change_seq: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(16))
    modality: Mapped[str | None] = mapped_column(ReceivedText(16), index=True)
    report_kind: Mapped[str | None] = mapped_column(String(32))
    study_id: Mapped[int | None] = mapped_column(ForeignKey("study.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    manufacturer: Mapped[str | None] = mapped_column(ReceivedText(128))
    model: Mapped[str | None] = mapped_column(ReceivedText(128))
    station_name: Mapped[str | None] = mapped_column(ReceivedText(128), index=True)
    serial_number: Mapped[str | None] = mapped_column(ReceivedText(128))
    software_versions: Mapped[str | None] = mapped_column(ReceivedText())
    device_observer_uid: Mapped[str | None] = mapped_column(ReceivedText(64))
    totals: Mapped[dict | None] = mapped_column(JSON)
    contrast: Mapped[list | None] = mapped_column(JSON)  # the contrast administrations its header states
    warnings: Mapped[list | None] = mapped_column(JSON)
    # the units each field's values were written in, as the object wrote them ({"dap_Gycm2": ["Gy.m2"]}; RDSR and
    # header records); the values above are converted to the units in their names
    units: Mapped[dict | None] = mapped_column(JSON)
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())
    # a dose screen (kerma.ingest.screens): queued, recorded, needs_review, ignored or error; null for other objects
    ocr_state: Mapped[str | None] = mapped_column(String(16), index=True)
    # what its reading said: engine, font, vendor, layout, the values needing review (and who confirmed them)
    ocr: Mapped[dict | None] = mapped_column(JSON)
    study: Mapped[Study | None] = relationship(back_populates="objects")
    device: Mapped[Device | None] = relationship()
    duplicate_of: Mapped["DoseObject | None"] = relationship(remote_side="DoseObject.id")  # the record of its SOP Instance UID
    events: Mapped[list["IrradiationEvent"]] = relationship(
        back_populates="dose_object", cascade="all, delete-orphan", order_by="IrradiationEvent.event_index"
    )


def field_column(kind) -> Mapped:
    """A column holding one scalar field of the extractor's event records (in :data:`EVENT_FIELDS`)."""
    return mapped_column(kind, info={"record_field": True})


class IrradiationEvent(Base):
    """One irradiation event; scalar fields as columns named with their units.

    The record fields below are those of the extractor's event records, written out once from its concept tables
    (``extract/data/*.csv``, :func:`kerma.extract.concepts.event_fields`; a test keeps both the same): a field the
    extractor gains is a column here and a migration.  Text that an index covers keeps a length (PostgreSQL refuses
    an index entry over about 2.7 kB).
    """

    __tablename__ = "irradiation_event"
    __table_args__ = (
        Index("ix_event_study_uid", "study_id", "irradiation_event_uid"),
        # statistics read counted events by date range; a partial index keeps uncounted per-slice rows out of it
        Index("ix_event_counted_date", "event_date", sqlite_where=text("counted = 1"), postgresql_where=text("counted")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dose_object_id: Mapped[int] = mapped_column(ForeignKey("dose_object.id", ondelete="CASCADE"), nullable=False, index=True)
    study_id: Mapped[int | None] = mapped_column(ForeignKey("study.id"))
    event_index: Mapped[int] = mapped_column(Integer, nullable=False)
    details: Mapped[dict | None] = mapped_column(JSON)  # what is not a scalar field (lists, nested parts)
    # statistics columns: the event belongs to the source its study's totals use (copies and
    # per-slice observations do not), its standard exam (exposure-level mapping), device and date
    counted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    standard_exam_id: Mapped[int | None] = mapped_column(ForeignKey("standard_exam.id"))
    mapping_rule_id: Mapped[int | None] = mapped_column(ForeignKey("mapping_rule.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    event_date: Mapped[dt.date | None] = mapped_column(Date)
    # a CT acquisition folded from per-slice header observations (kerma.study_dose.ct_acquisitions) has a row of
    # its own, kept with the dose object of its first slice and named by its grouping key; null for an event as
    # its object gives it
    folded_key: Mapped[str | None] = mapped_column(Text)
    # the device's correction factor of each statistics kind on the event's date (null: none; the event columns of
    # kerma.correction_kinds); the value columns stay as the device reported them, statistics and alerts read
    # value x factor (kerma.db.values, kerma.corrections)
    dap_factor: Mapped[float | None] = mapped_column(Float)
    ka_r_factor: Mapped[float | None] = mapped_column(Float)
    ctdivol_factor: Mapped[float | None] = mapped_column(Float)
    # the record fields
    irradiation_event_uid: Mapped[str | None] = field_column(ReceivedText(64))
    datetime_started: Mapped[str | None] = field_column(ReceivedText())
    protocol: Mapped[str | None] = field_column(ReceivedText(256))  # indexed: a length
    target_region: Mapped[str | None] = field_column(ReceivedText())
    plane: Mapped[str | None] = field_column(ReceivedText())
    comment: Mapped[str | None] = field_column(ReceivedText())
    laterality: Mapped[str | None] = field_column(ReceivedText())
    kvp: Mapped[float | None] = field_column(Float)
    tube_current_mA: Mapped[float | None] = field_column(Float)
    acquisition_type: Mapped[str | None] = field_column(ReceivedText())
    procedure_context: Mapped[str | None] = field_column(ReceivedText())
    exposure_time_s: Mapped[float | None] = field_column(Float)
    scan_length_mm: Mapped[float | None] = field_column(Float)
    exposed_range_mm: Mapped[float | None] = field_column(Float)
    reconstructable_length_mm: Mapped[float | None] = field_column(Float)
    single_collimation_mm: Mapped[float | None] = field_column(Float)
    total_collimation_mm: Mapped[float | None] = field_column(Float)
    pitch: Mapped[float | None] = field_column(Float)
    xray_source_count: Mapped[float | None] = field_column(Float)
    ctdivol_mGy: Mapped[float | None] = field_column(Float)
    phantom: Mapped[str | None] = field_column(ReceivedText())
    dlp_mGycm: Mapped[float | None] = field_column(Float)
    effective_dose_mSv: Mapped[float | None] = field_column(Float)
    ssde_mGy: Mapped[float | None] = field_column(Float)
    modulation_type: Mapped[str | None] = field_column(ReceivedText())
    dose_check_dlp_alert_configured: Mapped[str | None] = field_column(ReceivedText())
    dose_check_ctdivol_alert_configured: Mapped[str | None] = field_column(ReceivedText())
    dose_check_dlp_alert_mGycm: Mapped[float | None] = field_column(Float)
    dose_check_ctdivol_alert_mGy: Mapped[float | None] = field_column(Float)
    dose_check_alert_dlp_forward_estimate_mGycm: Mapped[float | None] = field_column(Float)
    dose_check_alert_ctdivol_forward_estimate_mGy: Mapped[float | None] = field_column(Float)
    dose_check_alert_reason_for_proceeding: Mapped[str | None] = field_column(ReceivedText())
    dose_check_dlp_notification_configured: Mapped[str | None] = field_column(ReceivedText())
    dose_check_ctdivol_notification_configured: Mapped[str | None] = field_column(ReceivedText())
    dose_check_dlp_notification_mGycm: Mapped[float | None] = field_column(Float)
    dose_check_ctdivol_notification_mGy: Mapped[float | None] = field_column(Float)
    dose_check_notification_dlp_forward_estimate_mGycm: Mapped[float | None] = field_column(Float)
    dose_check_notification_ctdivol_forward_estimate_mGy: Mapped[float | None] = field_column(Float)
    event_type: Mapped[str | None] = field_column(ReceivedText())
    dap_Gycm2: Mapped[float | None] = field_column(Float)
    ka_r_mGy: Mapped[float | None] = field_column(Float)
    reference_point_definition: Mapped[str | None] = field_column(ReceivedText())
    source_rp_distance_mm: Mapped[float | None] = field_column(Float)
    fluoro_mode: Mapped[str | None] = field_column(ReceivedText())
    pulse_rate: Mapped[float | None] = field_column(Float)
    number_of_pulses: Mapped[float | None] = field_column(Float)
    pulse_width_ms: Mapped[float | None] = field_column(Float)
    irradiation_duration_s: Mapped[float | None] = field_column(Float)
    average_tube_current_mA: Mapped[float | None] = field_column(Float)
    exposure_mAs: Mapped[float | None] = field_column(Float)
    focal_spot_mm: Mapped[float | None] = field_column(Float)
    primary_angle_deg: Mapped[float | None] = field_column(Float)
    secondary_angle_deg: Mapped[float | None] = field_column(Float)
    primary_end_angle_deg: Mapped[float | None] = field_column(Float)
    secondary_end_angle_deg: Mapped[float | None] = field_column(Float)
    column_angulation_deg: Mapped[float | None] = field_column(Float)
    sid_mm: Mapped[float | None] = field_column(Float)
    source_isocenter_distance_mm: Mapped[float | None] = field_column(Float)
    table_longitudinal_mm: Mapped[float | None] = field_column(Float)
    table_lateral_mm: Mapped[float | None] = field_column(Float)
    table_height_mm: Mapped[float | None] = field_column(Float)
    table_head_tilt_deg: Mapped[float | None] = field_column(Float)
    table_horizontal_rotation_deg: Mapped[float | None] = field_column(Float)
    table_cradle_tilt_deg: Mapped[float | None] = field_column(Float)
    collimated_field_height_mm: Mapped[float | None] = field_column(Float)
    collimated_field_width_mm: Mapped[float | None] = field_column(Float)
    collimated_field_area_cm2: Mapped[float | None] = field_column(Float)
    patient_orientation: Mapped[str | None] = field_column(ReceivedText())
    patient_orientation_modifier: Mapped[str | None] = field_column(ReceivedText())
    patient_table_relationship: Mapped[str | None] = field_column(ReceivedText())
    grid: Mapped[str | None] = field_column(ReceivedText())
    mechanical_configuration: Mapped[str | None] = field_column(ReceivedText())
    exposure_index: Mapped[float | None] = field_column(Float)
    target_exposure_index: Mapped[float | None] = field_column(Float)
    deviation_index: Mapped[float | None] = field_column(Float)
    patient_equivalent_thickness_mm: Mapped[float | None] = field_column(Float)
    agd_mGy: Mapped[float | None] = field_column(Float)
    entrance_exposure_at_rp_mGy: Mapped[float | None] = field_column(Float)
    compression_thickness_mm: Mapped[float | None] = field_column(Float)
    compression_force_N: Mapped[float | None] = field_column(Float)
    hvl_mm: Mapped[float | None] = field_column(Float)
    view: Mapped[str | None] = field_column(ReceivedText())
    anode_target_material: Mapped[str | None] = field_column(ReceivedText())
    radiopharmaceutical: Mapped[str | None] = field_column(ReceivedText())
    radionuclide: Mapped[str | None] = field_column(ReceivedText())
    radionuclide_half_life_s: Mapped[float | None] = field_column(Float)
    administration_start: Mapped[str | None] = field_column(ReceivedText())
    administration_stop: Mapped[str | None] = field_column(ReceivedText())
    administered_activity_MBq: Mapped[float | None] = field_column(Float)
    pre_administration_activity_MBq: Mapped[float | None] = field_column(Float)
    post_administration_activity_MBq: Mapped[float | None] = field_column(Float)
    route: Mapped[str | None] = field_column(ReceivedText())
    series_description: Mapped[str | None] = field_column(ReceivedText())
    body_part: Mapped[str | None] = field_column(ReceivedText())
    filter_type: Mapped[str | None] = field_column(ReceivedText())
    filter_material: Mapped[str | None] = field_column(ReceivedText())
    convolution_kernel: Mapped[str | None] = field_column(ReceivedText())
    exposure_time_per_rotation_s: Mapped[float | None] = field_column(Float)
    slice_thickness_mm: Mapped[float | None] = field_column(Float)
    relative_xray_exposure: Mapped[float | None] = field_column(Float)
    source_patient_distance_mm: Mapped[float | None] = field_column(Float)
    detector_id: Mapped[str | None] = field_column(ReceivedText())
    detector_type: Mapped[str | None] = field_column(ReceivedText())
    number_of_frames: Mapped[float | None] = field_column(Float)
    processing_description: Mapped[str | None] = field_column(ReceivedText())
    ctdivol_min_mGy: Mapped[float | None] = field_column(Float)
    ctdivol_max_mGy: Mapped[float | None] = field_column(Float)
    z_start_mm: Mapped[float | None] = field_column(Float)
    z_end_mm: Mapped[float | None] = field_column(Float)
    slice_count: Mapped[float | None] = field_column(Float)
    copies: Mapped[float | None] = field_column(Float)
    dose_object: Mapped[DoseObject] = relationship(back_populates="events")
    study: Mapped[Study | None] = relationship()


# each record field of an event (a column above) -> whether it is a measurement (a number with its unit in its name)
EVENT_FIELDS: dict[str, bool] = {column.name: isinstance(column.type, Float)
                                 for column in IrradiationEvent.__table__.columns if column.info.get("record_field")}


class CorrectionFactor(Base):
    """A physicist's correction factor for one device over a date range, with the measurement that justifies it.

    ``kind`` is a row of ``data/correction_kinds.csv``; ``valid_from`` / ``valid_to`` (inclusive, null: open) are
    study dates.  Versioned (``version``, ``updated_by``) and audited before/after (kerma.api.corrections).
    """

    __tablename__ = "correction_factor"
    __table_args__ = (Index("ix_correction_factor_device_kind", "device_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", name="fk_correction_factor_device"), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    factor: Mapped[float] = mapped_column(Float, nullable=False)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    measured_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    method: Mapped[str] = mapped_column(Text, nullable=False)  # how it was measured (instrument, set-up, reference)
    measured_by: Mapped[str] = mapped_column(String(256), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())
    updated_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), onupdate=clock.now)
    device: Mapped[Device] = relationship()


class AuditEntry(Base):
    """One change a person or an interface made to Kerma's data, with the values before and after."""

    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), index=True)
    actor: Mapped[str | None] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    target_type: Mapped[str] = mapped_column(String(64), nullable=False)
    target_id: Mapped[str | None] = mapped_column(ReceivedText(128))  # a UID or path from a request: any length
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_audit_target", "target_type", "target_id"),)


class IdempotencyKey(Base):
    """The first answer to a POST sent with an ``Idempotency-Key``: the same key again (a double click, a retry
    after a lost answer) gets this answer and changes nothing (:mod:`kerma.api.idempotency`)."""

    __tablename__ = "idempotency_key"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)  # keys are the user's own: '' for no user
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)  # sha256 of method, path and body
    answer: Mapped[dict | list | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, nullable=False, index=True)
    __table_args__ = (Index("ux_idempotency_actor_key", "actor", "key", unique=True),)


class Hl7Message(Base):
    """Every HL7 message the listener received, as received, with the answer it got."""

    __tablename__ = "hl7_message"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), index=True)
    control_id: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)
    message_type: Mapped[str | None] = mapped_column(ReceivedText(32), index=True)  # "ADT^A40", "ORM^O01"
    version: Mapped[str | None] = mapped_column(ReceivedText(16))
    sending_application: Mapped[str | None] = mapped_column(ReceivedText())
    sending_facility: Mapped[str | None] = mapped_column(ReceivedText())
    ack_code: Mapped[str] = mapped_column(String(2), nullable=False, index=True)  # AA, AE, AR
    error: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text, nullable=False)


class PatientRecord(Base):
    """A patient as the HIS knows them (ADT), keyed by the identifier that modalities write as Patient ID."""

    __tablename__ = "patient_record"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ReceivedText(64), unique=True, nullable=False)
    issuer: Mapped[str | None] = mapped_column(ReceivedText())
    identifiers: Mapped[list | None] = mapped_column(JSON)  # every PID-3: [{"id", "authority", "type"}]
    name: Mapped[str | None] = mapped_column(ReceivedText())
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(ReceivedText())
    height_m: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    merged_into: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)  # the surviving patient ID
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), onupdate=clock.now)
    last_message_id: Mapped[int | None] = mapped_column(ForeignKey("hl7_message.id"))


class ImagingOrder(Base):
    """An order (ORM^O01 / OMI^O23) for one requested procedure, as the RIS last described it."""

    __tablename__ = "imaging_order"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    placer_order_number: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)
    filler_order_number: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)
    accession_number: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)
    patient_id: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)
    procedure_code: Mapped[str | None] = mapped_column(ReceivedText())
    procedure_scheme: Mapped[str | None] = mapped_column(ReceivedText())
    procedure_text: Mapped[str | None] = mapped_column(ReceivedText())
    clinical_indication: Mapped[str | None] = mapped_column(ReceivedText())
    ordering_department: Mapped[str | None] = mapped_column(ReceivedText())
    modality: Mapped[str | None] = mapped_column(ReceivedText())
    study_instance_uid: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    scheduled_date: Mapped[dt.date | None] = mapped_column(Date, index=True)  # for matching by patient and day
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # scheduled, in_progress, completed, cancelled
    order_control: Mapped[str | None] = mapped_column(ReceivedText())  # ORC-1 of the last message
    order_status: Mapped[str | None] = mapped_column(ReceivedText())  # ORC-5
    result_status: Mapped[str | None] = mapped_column(ReceivedText())  # OBR-25
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), onupdate=clock.now)
    last_message_id: Mapped[int | None] = mapped_column(ForeignKey("hl7_message.id"))
    contrast: Mapped[list | None] = mapped_column(JSON)  # contrast administrations its messages' OBX stated


class PatientMerge(Base):
    """Dose records moved from one patient ID to another (ADT A40/A18/A34/A39 merge, A47 identifier change)."""

    __tablename__ = "patient_merge"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # "merge" or "identifier"
    survivor_patient_id: Mapped[str] = mapped_column(ReceivedText(64), nullable=False, index=True)
    merged_patient_id: Mapped[str] = mapped_column(ReceivedText(64), nullable=False, index=True)
    moved: Mapped[dict] = mapped_column(JSON, nullable=False)  # {"studies": {id: fields before}, "orders": [ids]}
    message_id: Mapped[int | None] = mapped_column(ForeignKey("hl7_message.id"))
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(String(128))


class StudyReassignment(Base):
    """A study's dose records given to another patient or order by hand, reversible."""

    __tablename__ = "study_reassignment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), index=True)
    actor: Mapped[str | None] = mapped_column(String(128))
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), nullable=False, index=True)
    before: Mapped[dict] = mapped_column(JSON, nullable=False)
    after: Mapped[dict] = mapped_column(JSON, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    orthanc_result: Mapped[str | None] = mapped_column(Text)  # what Orthanc answered when the correction was applied there
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(String(128))


# --- alerts, notifications and reports (kerma.evaluate, kerma.notify, kerma.reports) -------------------


class AlertRule(Base):
    """A versioned alert rule: what to check (``kind`` and its ``parameters``), on which studies, who is told."""

    __tablename__ = "alert_rule"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(128), unique=True)  # shipped rules: their row in evaluate/data
    name: Mapped[str] = mapped_column(String(256), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    severity: Mapped[str] = mapped_column(String(16), nullable=False, default="warning")
    # scope: a rule applies to the studies matching every one of these that is set
    modality: Mapped[str | None] = mapped_column(String(16))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", name="fk_alert_rule_device"))
    standard_exam_id: Mapped[int | None] = mapped_column(ForeignKey("standard_exam.id", name="fk_alert_rule_exam"))
    patient_group: Mapped[str | None] = mapped_column(String(32))  # "adult", "paediatric"; None: every patient
    quantity: Mapped[str | None] = mapped_column(String(64))  # a record field; None where the kind allows "every"
    level: Mapped[str | None] = mapped_column(String(16))  # "exposure", "series" or "exam"
    parameters: Mapped[dict] = mapped_column(JSON, nullable=False)
    notify_roles: Mapped[list] = mapped_column(JSON, nullable=False)
    source: Mapped[str | None] = mapped_column(Text)
    verification: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), onupdate=clock.now)


class Alert(Base):
    """One rule firing on one study (and one subject in it: the exam, an event, a series, a level step), or on one
    monitored person (occupational dose: ``person_id``, no study)."""

    __tablename__ = "alert"
    __table_args__ = (Index("ux_alert_subject", "rule_id", "study_id", "subject", unique=True),
                      Index("ux_alert_person_subject", "rule_id", "person_id", "subject", unique=True),
                      Index("ix_alert_status_created", "status", "created_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), onupdate=clock.now)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rule.id", name="fk_alert_rule"), nullable=False)
    rule_version: Mapped[int] = mapped_column(Integer, nullable=False)
    rule: Mapped[dict] = mapped_column(JSON, nullable=False)  # the rule as it was when it fired
    kind: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    severity: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    study_id: Mapped[int | None] = mapped_column(ForeignKey("study.id", name="fk_alert_study"), index=True)
    study_instance_uid: Mapped[str | None] = mapped_column(ReceivedText(64))
    person_id: Mapped[int | None] = mapped_column(  # an occupational dose alert's monitored person
        ForeignKey("occupational_person.id", name="fk_alert_person"), index=True)
    study_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", name="fk_alert_device"), index=True)
    standard_exam_id: Mapped[int | None] = mapped_column(ForeignKey("standard_exam.id", name="fk_alert_exam"))
    subject: Mapped[str] = mapped_column(String(160), nullable=False)
    quantity: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(16))
    reference: Mapped[dict | None] = mapped_column(JSON)  # the DRL, baseline or configured level compared with
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    actions: Mapped[list] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False, default="new")
    reportable: Mapped[bool | None] = mapped_column(Boolean)
    assignee: Mapped[str | None] = mapped_column(String(128), index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    comments: Mapped[list["AlertComment"]] = relationship(back_populates="alert", cascade="all, delete-orphan",
                                                          order_by="AlertComment.id")


class AlertComment(Base):
    __tablename__ = "alert_comment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", name="fk_alert_comment_alert", ondelete="CASCADE"),
                                          nullable=False, index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())
    author: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, nullable=False)
    alert: Mapped[Alert] = relationship(back_populates="comments")


class Recipient(Base):
    """Who is told: a person (or list) by role, optionally only for one device or one site."""

    __tablename__ = "recipient"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False, index=True)  # mpe, rpo, radiologist, radiographer
    email: Mapped[str] = mapped_column(String(256), nullable=False)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", name="fk_recipient_device"))
    site: Mapped[str | None] = mapped_column(String(256))  # a study's institution name; None: every site
    min_severity: Mapped[str] = mapped_column(String(16), nullable=False, default="info")
    daily_digest: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ReportSchedule(Base):
    """A report made automatically for each completed period and e-mailed to the roles named."""

    __tablename__ = "report_schedule"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)  # weekly, monthly, quarterly
    roles: Mapped[list] = mapped_column(JSON, nullable=False)
    filters: Mapped[dict | None] = mapped_column(JSON)  # modality, device_id
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_by: Mapped[str | None] = mapped_column(String(128))


class ReportRun(Base):
    """One report, scheduled or on demand: rendered in a separate process, kept as PDF and HTML."""

    __tablename__ = "report_run"
    __table_args__ = (Index("ux_report_run_period", "schedule_id", "period_start", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("report_schedule.id", name="fk_report_run_schedule"))
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    period_start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    period_end: Mapped[dt.date] = mapped_column(Date, nullable=False)
    filters: Mapped[dict | None] = mapped_column(JSON)
    roles: Mapped[list | None] = mapped_column(JSON)  # who gets it by e-mail; None: nobody
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # pending, running, done, failed
    requested_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict | None] = mapped_column(JSON)
    html: Mapped[str | None] = mapped_column(Text)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)


class OutboxMessage(Base):
    """A message to deliver (e-mail or webhook), written in the transaction of what it reports.

    The outbox poller composes and sends it, retrying until the server takes it; ``dedup_key`` keeps one
    message per alert and address however often an alert is re-evaluated.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # alert, digest, report
    channel: Mapped[str] = mapped_column(String(16), nullable=False)  # email, webhook
    address: Mapped[str] = mapped_column(String(512), nullable=False)
    dedup_key: Mapped[str] = mapped_column(String(600), nullable=False, unique=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", name="fk_outbox_alert", ondelete="CASCADE"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report_run.id", name="fk_outbox_report", ondelete="CASCADE"))
    digest_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")  # pending, sending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# drift baselines look up the recent events of one device and protocol; with ``counted``, the mapping assistant's
# count of each device's protocols is read from the index alone (migration 0026)
Index("ix_event_device_protocol", IrradiationEvent.device_id, IrradiationEvent.protocol, IrradiationEvent.counted)
# the DRL exceedance list and the studies list are read newest first, undated last, a page at a time (migration
# 0024; SQLite puts NULL last in a descending order by itself)
Index("ix_event_counted_date_desc", IrradiationEvent.event_date.desc().nulls_last(), IrradiationEvent.study_id.desc(),
      IrradiationEvent.id, sqlite_where=text("counted = 1"), postgresql_where=text("counted"))
Index("ix_study_date_desc", Study.study_date.desc().nulls_last(), Study.id.desc())
# the scatter's sample (kerma.stats.scatter): the rows whose id's hash is under 2^32 / 32, by date, so that a year's
# points are found among 1/32 of its rows (the predicate is scatter.in_sample's, written out; migration 0028)
SAMPLE_PREDICATE = "(id * 2654435761) % 4294967296 < 134217728"
Index("ix_event_sample_date", IrradiationEvent.event_date, sqlite_where=text(f"counted = 1 AND {SAMPLE_PREDICATE}"),
      postgresql_where=text(f"counted AND {SAMPLE_PREDICATE}"))
Index("ix_study_sample_date", Study.study_date, sqlite_where=text(SAMPLE_PREDICATE), postgresql_where=text(SAMPLE_PREDICATE))


class NodeLease(Base):
    """Which Kerma node of a cluster does the work that must run once (kerma.lease): its holder and until when."""

    __tablename__ = "node_lease"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class MonthSummary(Base):
    """The statistics tables kept ready (see kerma.stats.monthly): one row per quantity, period, exam, device (or all
    devices together), DRL and achievable dose."""

    __tablename__ = "month_summary"
    __table_args__ = (Index("ix_month_summary_quantity_period", "quantity", "period", "by_device", "month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quantity: Mapped[str] = mapped_column(String(64), nullable=False)
    period: Mapped[str] = mapped_column(String(8), nullable=False)  # month, quarter, year (tables.PERIODS)
    month: Mapped[str] = mapped_column(String(16), nullable=False)  # the period's key: "2026-03", "2026-Q1", "2026", "undated"
    by_device: Mapped[bool] = mapped_column(Boolean, nullable=False)  # False: every device together (device_id null)
    standard_exam_id: Mapped[int | None] = mapped_column(Integer)
    device_id: Mapped[int | None] = mapped_column(Integer)
    drl_value_id: Mapped[int | None] = mapped_column(Integer)
    achievable_value_id: Mapped[int | None] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    median: Mapped[float | None] = mapped_column(Float)
    mean: Mapped[float | None] = mapped_column(Float)
    min: Mapped[float | None] = mapped_column(Float)
    max: Mapped[float | None] = mapped_column(Float)
    sd: Mapped[float | None] = mapped_column(Float)
    p25: Mapped[float | None] = mapped_column(Float)
    p75: Mapped[float | None] = mapped_column(Float)


class MonthCount(Base):
    """The examinations per device kept ready (kerma.stats.tables.examinations_per_device): per device and month, how
    many examinations and series, and how often each procedure, protocol and body region occurs.  Counts of studies
    (or of dose objects, which belong to one study), so a quarter or a year is the sum of its months."""

    __tablename__ = "month_count"
    __table_args__ = (Index("ix_month_count_month", "month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(16), nullable=False)  # "2026-03", or "undated"
    device_id: Mapped[int] = mapped_column(Integer, nullable=False)
    field: Mapped[str] = mapped_column(String(16), nullable=False)  # series, procedures (their sum: the examinations), protocols, body_regions
    name: Mapped[str | None] = mapped_column(Text)  # the procedure, protocol or body region (null for the first two)
    n: Mapped[int] = mapped_column(Integer, nullable=False)


class MonthSummaryStale(Base):
    """Periods whose kept statistics must be recomputed before they are read: months, and the quarters and years
    holding them ("2026-03", "2026-Q1", "2026", "undated")."""

    __tablename__ = "month_summary_stale"
    month: Mapped[str] = mapped_column(String(16), primary_key=True)
    # counts the marks: the refresher computes a period outside its write, then removes the mark only if nobody
    # marked it again meanwhile (marking an already stale period would otherwise change nothing, and be lost)
    generation: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class StudyAboveDrl(Base):
    """A study's values above the DRL in force on their date, kept per quantity and month (the highest ratio: the
    study's total, or its counted event furthest above), so that the studies list filtered "above DRL" reads a small
    table.

    Kept with the month table: recomputed by :mod:`kerma.stats.refresher` for each stale month (its ``month``, the
    study's), from the rows as :func:`kerma.stats.tables.exceedance_statement` compares them; while a month of a
    request is stale the list compares the rows instead (:mod:`kerma.stats.above_drl`).
    """

    __tablename__ = "study_above_drl"
    # the list's EXISTS per study, within its dates
    __table_args__ = (Index("ix_study_above_drl_study_day", "study_id", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), nullable=False)
    month: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # of ``day``: "2026-03", or "undated"
    day: Mapped[dt.date | None] = mapped_column(Date)  # the value's date: the study's (totals), the event's (events)
    quantity: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    drl_value_id: Mapped[int] = mapped_column(Integer, nullable=False)
    drl: Mapped[float] = mapped_column(Float, nullable=False)
    ratio: Mapped[float] = mapped_column(Float, nullable=False)


class PerformedProcedureStep(Base):
    """A Modality Performed Procedure Step (MPPS) instance as the modality created and set it (kerma.mpps).

    ``attributes`` is the instance as N-CREATE and the N-SETs left it (DICOM JSON, PS3.18 F.2); the columns
    index what it says.  A finished step whose Radiation Dose module holds values has its record in
    ``dose_object`` (source ``mpps``).
    """

    __tablename__ = "performed_procedure_step"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(ReceivedText(64), nullable=False, unique=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # in_progress, completed, discontinued
    attributes: Mapped[dict] = mapped_column(JSON, nullable=False)
    # N-SETs refused once the step was final, kept as received: [{"at", "calling_ae", "reason", "attributes"}]
    refused: Mapped[list | None] = mapped_column(JSON)
    calling_ae: Mapped[str | None] = mapped_column(ReceivedText(16))  # of the N-CREATE
    modality: Mapped[str | None] = mapped_column(ReceivedText(16))
    study_instance_uid: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)
    accession_number: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)
    patient_id: Mapped[str | None] = mapped_column(ReceivedText(64), index=True)
    performed_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    discontinuation_reason: Mapped[str | None] = mapped_column(ReceivedText())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # when it became completed/discontinued
    dose_object_id: Mapped[int | None] = mapped_column(ForeignKey("dose_object.id", ondelete="SET NULL"))
    dose_object: Mapped[DoseObject | None] = relationship()


class ManualEntry(Base):
    """A dose entered by hand (kerma.manual): what was entered, by whom, and its record in ``dose_object``.

    The record (source ``manual``) holds the value in the quantity's unit and takes part in the study's dose
    like any other record, below every other source; this row keeps what the person typed and who did what.
    """

    __tablename__ = "manual_entry"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), nullable=False, index=True)
    dose_object_id: Mapped[int] = mapped_column(ForeignKey("dose_object.id", ondelete="CASCADE"), nullable=False,
                                                unique=True)
    quantity: Mapped[str] = mapped_column(String(64), nullable=False)  # a row of kerma/manual/data/manual_quantities.csv
    value: Mapped[float] = mapped_column(Float, nullable=False)  # in the unit of ``quantity``
    entered_value: Mapped[float] = mapped_column(Float, nullable=False)  # as typed, in ``entered_unit`` (UCUM)
    entered_unit: Mapped[str] = mapped_column(String(32), nullable=False)
    modality: Mapped[str] = mapped_column(String(16), nullable=False)
    performed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)  # when the dose was given
    performed_by: Mapped[str | None] = mapped_column(Text)  # who gave it (the operator), as entered
    note: Mapped[str | None] = mapped_column(Text)
    outlier_confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    study: Mapped[Study] = relationship()
    dose_object: Mapped[DoseObject] = relationship()


class OccupationalDepartment(Base):
    """A department whose staff wear personal dosimeters (kerma.occupational), optionally at one site."""

    __tablename__ = "occupational_department"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False, unique=True)
    site: Mapped[str | None] = mapped_column(String(256))  # the hospital or institution, for site-specific levels
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())


class OccupationalPerson(Base):
    """A person monitored by a dosimetry service.  ``staff_id`` and ``name`` are personal data: exports
    pseudonymise or remove them, and every read of them is audited."""

    __tablename__ = "occupational_person"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[str] = mapped_column(ReceivedText(64), nullable=False, unique=True)  # as the dosimetry service names the person
    name: Mapped[str | None] = mapped_column(ReceivedText())
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("occupational_department.id", name="fk_occupational_person_department"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())
    department: Mapped[OccupationalDepartment | None] = relationship()


class DosimetryService(Base):
    """A dosimetry service and the column mapping its reports were last imported with (reused for its next one)."""

    __tablename__ = "dosimetry_service"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False, unique=True)
    mapping: Mapped[dict] = mapped_column(JSON, nullable=False)  # kerma.occupational.mapping.Mapping as JSON
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now(), onupdate=clock.now)


class DosimetryImport(Base):
    """One imported dosimetry report: the mapping applied, what was accepted, refused (row and reason) and replaced.

    Undoing it withdraws its readings and brings back the ones it replaced.
    """

    __tablename__ = "dosimetry_import"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("dosimetry_service.id", name="fk_dosimetry_import_service"))
    filename: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)  # of the file as received
    mapping: Mapped[dict] = mapped_column(JSON, nullable=False)
    on_duplicate: Mapped[str] = mapped_column(String(16), nullable=False)  # refuse, replace
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, nullable=False)
    imported_by: Mapped[str | None] = mapped_column(String(128))
    row_count: Mapped[int] = mapped_column(Integer, nullable=False)
    reading_count: Mapped[int] = mapped_column(Integer, nullable=False)
    refused: Mapped[list] = mapped_column(JSON, nullable=False)  # [{"row", "column", "value", "reason"}]
    replaced_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    new_people: Mapped[list] = mapped_column(JSON, nullable=False)  # ids of the people the import registered
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(String(128))
    service: Mapped[DosimetryService | None] = relationship()


class DoseReading(Base):
    """One dosimeter's reading for one person and monitoring period, in mSv.

    A quantity the dosimeter does not measure is null; one reported below the service's recording level is null with
    its level (or null when the report gives none) in ``below_level``, and counts as 0 in sums.  ``status``:
    ``active``, ``replaced`` (by a later import, ``replaced_by_import_id``) or ``undone`` (its import was undone).
    """

    __tablename__ = "dose_reading"
    __table_args__ = (Index("ix_dose_reading_person_period", "person_id", "period_end"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("occupational_person.id", name="fk_dose_reading_person"), nullable=False)
    department_id: Mapped[int | None] = mapped_column(  # the person's department during the period
        ForeignKey("occupational_department.id", name="fk_dose_reading_department"), index=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("dosimetry_import.id", name="fk_dose_reading_import"), nullable=False, index=True)
    source_row: Mapped[int | None] = mapped_column(Integer)  # the row of the imported file
    period_start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    period_end: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    position: Mapped[str] = mapped_column(String(32), nullable=False)  # kerma/occupational/data/positions.csv
    hp10_mSv: Mapped[float | None] = mapped_column(Float)
    hp007_mSv: Mapped[float | None] = mapped_column(Float)
    hp3_mSv: Mapped[float | None] = mapped_column(Float)
    below_level: Mapped[dict | None] = mapped_column(JSON)  # {"hp10_mSv": 0.1 or null}: reported below the recording level
    dosimeter_id: Mapped[str | None] = mapped_column(ReceivedText(64))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active", index=True)
    replaced_by_import_id: Mapped[int | None] = mapped_column(
        ForeignKey("dosimetry_import.id", name="fk_dose_reading_replaced_by"))
    person: Mapped[OccupationalPerson] = relationship()


class RegistrySubmission(Base):
    """A dose report to send, de-identified, to the dose registry (IHE REM): the outbox and the log of what went
    where.  One row per report and registry (a report re-sent by its modality is one row, sent once); the sender
    retries a pending row until the registry takes it."""

    __tablename__ = "registry_submission"
    __table_args__ = (Index("ux_registry_submission", "modality", "dose_object_id", unique=True),
                      Index("ix_registry_submission_due", "status", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    modality: Mapped[str] = mapped_column(String(64), nullable=False)  # the registry: the Orthanc modality it goes to
    dose_object_id: Mapped[int] = mapped_column(ForeignKey("dose_object.id", name="fk_registry_submission_object",
                                                           ondelete="CASCADE"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())
    # pending (to send, or the registry refused: tried again), sent, failed (the report cannot be sent: last_error)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_sop_instance_uid: Mapped[str | None] = mapped_column(String(64))  # the de-identified report's UID
    method: Mapped[str | None] = mapped_column(Text)  # how it was de-identified (De-identification Method)
    dose_object: Mapped[DoseObject] = relationship(lazy="joined")


class DerivedDose(Base):
    """A dose Kerma computed from a study's records (:mod:`kerma.derived`): effective dose (one per study), SSDE
    (one per CT acquisition), peak skin dose with its map (one per fluoroscopy report), or why it is not estimated.

    ``inputs`` says what it was computed from (dose objects by SOP Instance UID, weight, height, age, exam region)
    and ``inputs_sha256`` fingerprints them with the model's version: when the study's inputs change, its rows are
    computed again.  ``result`` is the model's whole answer (method, coefficients with their citations, each event's
    part, uncertainty components); the columns repeat what lists and alerts read.
    """

    __tablename__ = "derived_dose"
    __table_args__ = (Index("ux_derived_dose_part", "study_id", "kind", "part", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", name="fk_derived_dose_study", ondelete="CASCADE"),
                                          nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)  # effective_dose, ssde, skin_dose
    part: Mapped[str] = mapped_column(String(128), nullable=False, default="")  # '' for the study; an acquisition, a report
    dose_object_id: Mapped[int | None] = mapped_column(ForeignKey("dose_object.id", name="fk_derived_dose_object",
                                                                  ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # estimated, not_estimated
    method: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)  # why not estimated (or what was assumed)
    effective_dose_mSv: Mapped[float | None] = mapped_column(Float)
    ssde_mGy: Mapped[float | None] = mapped_column(Float)
    ctdivol_mGy: Mapped[float | None] = mapped_column(Float)
    diameter_cm: Mapped[float | None] = mapped_column(Float)  # SSDE: Dw or Deff, as method says
    psd_mGy: Mapped[float | None] = mapped_column(Float)
    kar_total_mGy: Mapped[float | None] = mapped_column(Float)
    uncertainty_relative: Mapped[float | None] = mapped_column(Float)  # half-width, relative (components in quadrature)
    inputs: Mapped[dict | None] = mapped_column(JSON)
    inputs_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    model_version: Mapped[str] = mapped_column(String(32), nullable=False)
    result: Mapped[dict | None] = mapped_column(JSON)
    map_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # the skin dose map
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=clock.now, server_default=func.now())
