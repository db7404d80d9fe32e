"""study above DRL: each study's values above their DRL kept per quantity and month (the studies list's filter);
the device and protocol index with ``counted`` (the mapping assistant's counts from the index alone); the records
deleted in PACS indexed (health counts them)

Revision ID: 0026
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'study_above_drl',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=16), nullable=False),
        sa.Column('day', sa.Date(), nullable=True),
        sa.Column('quantity', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('drl_value_id', sa.Integer(), nullable=False),
        sa.Column('drl', sa.Float(), nullable=False),
        sa.Column('ratio', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['study_id'], ['study.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_study_above_drl_study_day', 'study_above_drl', ['study_id', 'day'])
    op.create_index(op.f('ix_study_above_drl_month'), 'study_above_drl', ['month'])
    op.drop_index('ix_event_device_protocol', table_name='irradiation_event')
    op.create_index('ix_event_device_protocol', 'irradiation_event', ['device_id', 'protocol', 'counted'])
    op.create_index('ix_dose_object_deleted_in_pacs', 'dose_object', ['id'],
                    sqlite_where=sa.text('deleted_in_pacs_at IS NOT NULL'),
                    postgresql_where=sa.text('deleted_in_pacs_at IS NOT NULL'))
    # filled by the refresher with the month table: the tracked setting gone, it marks every month stale (until
    # then the list compares the rows)
    op.execute("DELETE FROM kerma_setting WHERE name = 'month_summary_tracked'")


def downgrade() -> None:
    op.drop_index('ix_dose_object_deleted_in_pacs', table_name='dose_object')
    op.drop_index('ix_event_device_protocol', table_name='irradiation_event')
    op.create_index('ix_event_device_protocol', 'irradiation_event', ['device_id', 'protocol'])
    op.drop_index(op.f('ix_study_above_drl_month'), table_name='study_above_drl')
    op.drop_index('ix_study_above_drl_study_day', table_name='study_above_drl')
    op.drop_table('study_above_drl')
