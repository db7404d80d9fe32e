"""stale marks counted: ``month_summary_stale.generation``, so that the refresher computes a period before it takes
the write lock and keeps the mark when the period was marked again meanwhile

Revision ID: 0027
Revises: 0026
"""
import sqlalchemy as sa
from alembic import op


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('month_summary_stale') as batch_op:
        batch_op.add_column(sa.Column('generation', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('month_summary_stale') as batch_op:
        batch_op.drop_column('generation')
