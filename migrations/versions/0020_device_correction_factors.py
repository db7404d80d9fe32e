"""correction_factor: a physicist's per-device correction factors; the factor of each statistics kind on every
irradiation event, and a study's totals as the devices reported them beside the corrected ones

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

EVENT_FACTORS = ('dap_factor', 'ka_r_factor', 'ctdivol_factor')  # one per statistics kind of data/correction_kinds.csv


def upgrade() -> None:
    op.create_table(
        'correction_factor',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('factor', sa.Float(), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=True),
        sa.Column('valid_to', sa.Date(), nullable=True),
        sa.Column('measured_on', sa.Date(), nullable=False),
        sa.Column('method', sa.Text(), nullable=False),
        sa.Column('measured_by', sa.String(length=256), nullable=False),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.Column('updated_by', sa.String(length=128), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['device.id'], name='fk_correction_factor_device'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_correction_factor_device_kind', 'correction_factor', ['device_id', 'kind'])
    with op.batch_alter_table('irradiation_event') as batch:
        for name in EVENT_FACTORS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
    with op.batch_alter_table('study') as batch:
        batch.add_column(sa.Column('dose_corrections', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('study') as batch:
        batch.drop_column('dose_corrections')
    with op.batch_alter_table('irradiation_event') as batch:
        for name in EVENT_FACTORS:
            batch.drop_column(name)
    op.drop_table('correction_factor')
