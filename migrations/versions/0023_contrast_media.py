"""contrast media: the administrations each image header states (dose_object.contrast) and an order's HL7 OBX
stated (imaging_order.contrast); a study's, each once, with their totals (volume, iodine, iodine per kg)

Revision ID: 0023
Revises: 0022
"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

STUDY_TOTALS = ('total_contrast_volume_mL', 'total_iodine_mg', 'total_iodine_mg_per_kg')


def upgrade() -> None:
    for table in ('dose_object', 'imaging_order', 'study'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('contrast', sa.JSON(), nullable=True))
    with op.batch_alter_table('study') as batch:
        for name in STUDY_TOTALS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('study') as batch:
        for name in STUDY_TOTALS:
            batch.drop_column(name)
    for table in ('dose_object', 'imaging_order', 'study'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('contrast')
