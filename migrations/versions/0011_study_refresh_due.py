"""studies due for a refresh by the ingest worker (after HL7 changes, and after upgrades)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

Studies an upgrade left unresolved (0008 cleared every resolved source) are marked due: the ingest worker
resolves them between batches, a chunk per transaction, instead of Orthanc's start waiting for all of them.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refresh_due', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_study_refresh_due', ['id'], unique=False, sqlite_where=sa.text('refresh_due = 1'),
                              postgresql_where=sa.text('refresh_due'))
    op.execute(sa.text("UPDATE study SET refresh_due = :due WHERE dose_source IS NULL").bindparams(due=True))


def downgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_index('ix_study_refresh_due', sqlite_where=sa.text('refresh_due = 1'),
                            postgresql_where=sa.text('refresh_due'))
        batch_op.drop_column('refresh_due')
