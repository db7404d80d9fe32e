"""a counted row for each CT acquisition folded from slice headers; the resolved sources and totals kept;
achievable doses beside the DRLs in the kept month table

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Every study is resolved again (its resolved source is cleared; 0011 marks such studies due and the ingest
worker resolves them between batches): that keeps its sources and totals for the study list, and gives
folded CT acquisitions the counted rows they lacked.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('irradiation_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('folded_key', sa.Text(), nullable=True))
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dose_sources', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('dose_totals', sa.JSON(), nullable=True))
    op.execute("UPDATE study SET dose_source = NULL")
    with op.batch_alter_table('month_summary', schema=None) as batch_op:
        batch_op.add_column(sa.Column('achievable_value_id', sa.Integer(), nullable=True))
    # the kept month table is rebuilt in the background (with the achievable doses, and the re-resolved studies)
    op.execute("DELETE FROM month_summary")
    op.execute("DELETE FROM kerma_setting WHERE name = 'month_summary_tracked'")


def downgrade() -> None:
    with op.batch_alter_table('month_summary', schema=None) as batch_op:
        batch_op.drop_column('achievable_value_id')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('dose_totals')
        batch_op.drop_column('dose_sources')
    op.execute("DELETE FROM irradiation_event WHERE folded_key IS NOT NULL")
    with op.batch_alter_table('irradiation_event', schema=None) as batch_op:
        batch_op.drop_column('folded_key')
