"""kept periods and counts: the statistics table kept per quarter and year and for all devices together, and the
examinations per device kept per month (kerma.stats.monthly)

Revision ID: 0025
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the kept rows are derived: emptied here and built again by the refresher (the tracked setting gone, it marks
    # every period stale)
    op.execute("DELETE FROM month_summary")
    op.execute("DELETE FROM month_summary_stale")
    op.execute("DELETE FROM kerma_setting WHERE name = 'month_summary_tracked'")
    with op.batch_alter_table('month_summary', schema=None, recreate='always') as batch_op:
        batch_op.add_column(sa.Column('period', sa.String(length=8), nullable=False))
        batch_op.add_column(sa.Column('by_device', sa.Boolean(), nullable=False))
        batch_op.drop_index('ix_month_summary_quantity_month')
        batch_op.create_index('ix_month_summary_quantity_period', ['quantity', 'period', 'by_device', 'month'], unique=False)
    op.create_table('month_count',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=16), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('month_count', schema=None) as batch_op:
        batch_op.create_index('ix_month_count_month', ['month'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('month_count', schema=None) as batch_op:
        batch_op.drop_index('ix_month_count_month')
    op.drop_table('month_count')
    op.execute("DELETE FROM month_summary")
    op.execute("DELETE FROM month_summary_stale")
    op.execute("DELETE FROM kerma_setting WHERE name = 'month_summary_tracked'")
    with op.batch_alter_table('month_summary', schema=None, recreate='always') as batch_op:
        batch_op.drop_index('ix_month_summary_quantity_period')
        batch_op.create_index('ix_month_summary_quantity_month', ['quantity', 'month'], unique=False)
        batch_op.drop_column('by_device')
        batch_op.drop_column('period')
