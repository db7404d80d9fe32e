"""exceedance order indexes: the DRL exceedance list's order (newest first, undated last) walked from an index

Revision ID: 0024
Revises: 0023
"""
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # kerma.stats.tables.exceedance_statement orders by date DESC NULLS LAST, then study, then event: a page of the
    # list reads the index in that order until it is full (PostgreSQL cannot use an ascending index backwards for
    # NULLS LAST; SQLite sorts NULL first, so DESC is NULLS LAST there already)
    nulls_last = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    counted = "counted" if op.get_bind().dialect.name == "postgresql" else "counted = 1"
    op.execute(f"CREATE INDEX ix_event_counted_date_desc ON irradiation_event (event_date DESC{nulls_last}, study_id DESC, id) "
               f"WHERE {counted}")
    op.execute(f"CREATE INDEX ix_study_date_desc ON study (study_date DESC{nulls_last}, id DESC)")


def downgrade() -> None:
    op.drop_index('ix_study_date_desc', table_name='study')
    op.drop_index('ix_event_counted_date_desc', table_name='irradiation_event')
