"""Modality Performed Procedure Step instances received by Kerma's MPPS listener

Each MPPS instance is kept with its state and its attributes as the modality created and set them; a finished
step with dose values has its record in dose_object (source mpps).

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'performed_procedure_step',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sop_instance_uid', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attributes', sa.JSON(), nullable=False),
        sa.Column('refused', sa.JSON(), nullable=True),
        sa.Column('calling_ae', sa.String(length=16), nullable=True),
        sa.Column('modality', sa.String(length=16), nullable=True),
        sa.Column('study_instance_uid', sa.String(length=64), nullable=True),
        sa.Column('accession_number', sa.String(length=64), nullable=True),
        sa.Column('patient_id', sa.String(length=64), nullable=True),
        sa.Column('performed_date', sa.Date(), nullable=True),
        sa.Column('discontinuation_reason', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('dose_object_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['dose_object_id'], ['dose_object.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sop_instance_uid'),
    )
    with op.batch_alter_table('performed_procedure_step', schema=None) as batch_op:
        for column in ('state', 'study_instance_uid', 'accession_number', 'patient_id', 'performed_date'):
            batch_op.create_index(batch_op.f(f'ix_performed_procedure_step_{column}'), [column], unique=False)


def downgrade() -> None:
    op.drop_table('performed_procedure_step')
