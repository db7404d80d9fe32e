"""where a study's height and weight came from (DICOM header or HIS)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Before this revision only DICOM headers gave studies a height or weight.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('patient_height_source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('patient_weight_source', sa.String(length=16), nullable=True))
    op.execute("UPDATE study SET patient_height_source = 'dicom' WHERE patient_height_m IS NOT NULL")
    op.execute("UPDATE study SET patient_weight_source = 'dicom' WHERE patient_weight_kg IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('patient_weight_source')
        batch_op.drop_column('patient_height_source')
