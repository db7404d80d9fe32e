"""received text unbounded; every stored instance in the ledger; deletions in PACS

Free text from DICOM and HL7 becomes TEXT (a 925-character Software Versions stopped ingestion on
PostgreSQL); identifiers keep their length, and values a SQLite database already holds beyond it are
shortened the way kerma.db.received stores them from now on.  The ledger keeps one record per SOP Instance
UID, and a row for every further instance Orthanc stores with that UID (``duplicate_of_id``); an instance
Orthanc deleted keeps its records, marked ``deleted_in_pacs_at``.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

from kerma.db.received import shorten

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# table -> {column: its former VARCHAR length}: free text from DICOM or HL7, now TEXT
TO_TEXT = {
    "study": {"study_id": 64, "study_time": 32, "study_description": 256, "requested_procedure": 256,
              "performed_procedure": 256, "procedure_reported": 256, "institution_name": 256, "department": 256,
              "patient_name": 256, "patient_sex": 16},
    "device": {"software_versions": 256},
    "dose_object": {"software_versions": 256},
    "hl7_message": {"sending_application": 128, "sending_facility": 128},
    "patient_record": {"issuer": 128, "name": 256, "sex": 16},
    "imaging_order": {"procedure_code": 64, "procedure_scheme": 64, "procedure_text": 256, "ordering_department": 256,
                      "modality": 16, "order_control": 8, "order_status": 8, "result_status": 8},
}
# identifiers that keep a length (SQLite never enforced it; PostgreSQL did, so there this finds nothing)
KEPT = {
    "study": {"study_instance_uid": 64, "accession_number": 64, "patient_id": 64},
    "device": {"manufacturer": 128, "model": 128, "station_name": 128, "serial_number": 128, "device_observer_uid": 64,
               "modality": 16},
    "dose_object": {"sop_instance_uid": 64, "sop_class_uid": 64, "modality": 16, "manufacturer": 128, "model": 128,
                    "station_name": 128, "serial_number": 128, "device_observer_uid": 64},
    "irradiation_event": {"protocol": 256, "irradiation_event_uid": 64},
    "hl7_message": {"control_id": 64, "message_type": 32, "version": 16},
    "patient_record": {"patient_id": 64, "merged_into": 64},
    "imaging_order": {"placer_order_number": 64, "filler_order_number": 64, "accession_number": 64, "patient_id": 64,
                      "study_instance_uid": 64},
    "patient_merge": {"survivor_patient_id": 64, "merged_patient_id": 64},
    "alert": {"study_instance_uid": 64},
}
RECORDED = sa.text("duplicate_of_id IS NULL")


def upgrade() -> None:
    bind = op.get_bind()
    for table, columns in KEPT.items():
        for column, length in columns.items():
            _shorten_existing(bind, table, column, length)
    for table, columns in TO_TEXT.items():
        with op.batch_alter_table(table) as batch_op:
            for column, length in columns.items():
                batch_op.alter_column(column, existing_type=sa.String(length), type_=sa.Text())
    with op.batch_alter_table("irradiation_event") as batch_op:  # an index covers it: kept to 256 characters
        batch_op.alter_column("protocol", existing_type=sa.Text(), type_=sa.String(256))
    unique = "dose_object_sop_instance_uid_key" if bind.dialect.name == "postgresql" else "uq_dose_object_sop_instance_uid"
    with op.batch_alter_table("dose_object", naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}) as batch_op:
        batch_op.drop_constraint(unique, type_="unique")
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("deleted_in_pacs_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key("fk_dose_object_duplicate_of", "dose_object", ["duplicate_of_id"], ["id"])
        batch_op.create_index("ix_dose_object_sop_instance_uid", ["sop_instance_uid"], unique=False)
        batch_op.create_index("ux_dose_object_sop_instance_uid", ["sop_instance_uid"], unique=True,
                              sqlite_where=RECORDED, postgresql_where=RECORDED)


def downgrade() -> None:
    with op.batch_alter_table("dose_object") as batch_op:
        batch_op.drop_index("ux_dose_object_sop_instance_uid")
        batch_op.drop_index("ix_dose_object_sop_instance_uid")
        batch_op.drop_constraint("fk_dose_object_duplicate_of", type_="foreignkey")
        batch_op.drop_column("deleted_in_pacs_at")
        batch_op.drop_column("duplicate_of_id")
        batch_op.create_unique_constraint("uq_dose_object_sop_instance_uid", ["sop_instance_uid"])
    with op.batch_alter_table("irradiation_event") as batch_op:
        batch_op.alter_column("protocol", existing_type=sa.String(256), type_=sa.Text())
    for table, columns in TO_TEXT.items():
        with op.batch_alter_table(table) as batch_op:
            for column, length in columns.items():
                batch_op.alter_column(column, existing_type=sa.Text(), type_=sa.String(length),
                                      postgresql_using=f"left({column}, {length})")


def _shorten_existing(bind, table: str, column: str, length: int) -> None:
    rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table} WHERE length({column}) > :n"), {"n": length}).all()
    for row_id, value in rows:
        bind.execute(sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"),
                     {"value": shorten(value, length), "id": row_id})
