"""HL7 interfaces and reconciliation: received messages, HIS patients, orders, merges, reassignments, audit trail

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NOW = sa.text("(CURRENT_TIMESTAMP)")


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _at(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=NOW, nullable=False)


def _message_link(name: str = "last_message_id") -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("hl7_message.id"), nullable=True)


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "audit_entry", _id(), _at("at"),
        sa.Column("actor", sa.String(128)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(64), nullable=False),
        sa.Column("target_id", sa.String(128)),
        sa.Column("before", sa.JSON()),
        sa.Column("after", sa.JSON()),
        sa.Column("note", sa.Text()),
    )
    _indexes("audit_entry", "at", "actor", "action")
    op.create_index("ix_audit_target", "audit_entry", ["target_type", "target_id"])

    op.create_table(
        "hl7_message", _id(), _at("received_at"),
        sa.Column("control_id", sa.String(64)),
        sa.Column("message_type", sa.String(32)),
        sa.Column("version", sa.String(16)),
        sa.Column("sending_application", sa.String(128)),
        sa.Column("sending_facility", sa.String(128)),
        sa.Column("ack_code", sa.String(2), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("outcome", sa.Text()),
        sa.Column("raw", sa.Text(), nullable=False),
    )
    _indexes("hl7_message", "received_at", "control_id", "message_type", "ack_code")

    op.create_table(
        "patient_record", _id(),
        sa.Column("patient_id", sa.String(64), nullable=False, unique=True),
        sa.Column("issuer", sa.String(128)),
        sa.Column("identifiers", sa.JSON()),
        sa.Column("name", sa.String(256)),
        sa.Column("birth_date", sa.Date()),
        sa.Column("sex", sa.String(16)),
        sa.Column("height_m", sa.Float()),
        sa.Column("weight_kg", sa.Float()),
        sa.Column("merged_into", sa.String(64)),
        _at("updated_at"),
        _message_link(),
    )
    _indexes("patient_record", "merged_into")

    op.create_table(
        "imaging_order", _id(),
        sa.Column("placer_order_number", sa.String(64)),
        sa.Column("filler_order_number", sa.String(64)),
        sa.Column("accession_number", sa.String(64)),
        sa.Column("patient_id", sa.String(64)),
        sa.Column("procedure_code", sa.String(64)),
        sa.Column("procedure_scheme", sa.String(64)),
        sa.Column("procedure_text", sa.String(256)),
        sa.Column("clinical_indication", sa.Text()),
        sa.Column("ordering_department", sa.String(256)),
        sa.Column("modality", sa.String(16)),
        sa.Column("study_instance_uid", sa.String(64)),
        sa.Column("scheduled_at", sa.DateTime()),
        sa.Column("scheduled_date", sa.Date()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("order_control", sa.String(8)),
        sa.Column("order_status", sa.String(8)),
        sa.Column("result_status", sa.String(8)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        _at("created_at"),
        _at("updated_at"),
        _message_link(),
    )
    _indexes("imaging_order", "placer_order_number", "filler_order_number", "accession_number", "patient_id",
             "study_instance_uid", "scheduled_date", "status")

    op.create_table(
        "patient_merge", _id(), _at("at"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("survivor_patient_id", sa.String(64), nullable=False),
        sa.Column("merged_patient_id", sa.String(64), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        _message_link("message_id"),
        sa.Column("undone_at", sa.DateTime(timezone=True)),
        sa.Column("undone_by", sa.String(128)),
    )
    _indexes("patient_merge", "at", "survivor_patient_id", "merged_patient_id")

    op.create_table(
        "study_reassignment", _id(), _at("at"),
        sa.Column("actor", sa.String(128)),
        sa.Column("study_id", sa.Integer(), sa.ForeignKey("study.id"), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("orthanc_result", sa.Text()),
        sa.Column("undone_at", sa.DateTime(timezone=True)),
        sa.Column("undone_by", sa.String(128)),
    )
    _indexes("study_reassignment", "at", "study_id")

    with op.batch_alter_table("study") as batch_op:  # SQLite cannot add a foreign key in place
        batch_op.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_study_order_id", ["order_id"])
        batch_op.create_foreign_key("fk_study_order_id", "imaging_order", ["order_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("study") as batch_op:
        batch_op.drop_constraint("fk_study_order_id", type_="foreignkey")
        batch_op.drop_index("ix_study_order_id")
        batch_op.drop_column("order_id")
    for table in ("study_reassignment", "patient_merge", "imaging_order", "patient_record", "hl7_message", "audit_entry"):
        op.drop_table(table)  # their indexes go with them
