"""the scatter's sample indexed: counted events and studies whose id's hash (Knuth's, kerma.stats.scatter) is under
2^32 / 32, by date; a year's points are read from 1/32 of its rows. On PostgreSQL, statistics of the hash
(CREATE STATISTICS on the expression), without which the planner takes 1/3 of the rows for its term (the default for
an expression it knows nothing about), 30 times too many, and reads every study to join them

Revision ID: 0028
Revises: 0027
"""
import sqlalchemy as sa
from alembic import op


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

SAMPLE = "(id * 2654435761) % 4294967296 < 134217728"


def upgrade() -> None:
    op.create_index('ix_event_sample_date', 'irradiation_event', ['event_date'],
                    sqlite_where=sa.text(f'counted = 1 AND {SAMPLE}'), postgresql_where=sa.text(f'counted AND {SAMPLE}'))
    op.create_index('ix_study_sample_date', 'study', ['study_date'],
                    sqlite_where=sa.text(SAMPLE), postgresql_where=sa.text(SAMPLE))
    if op.get_bind().dialect.name == "postgresql":
        for table in ("irradiation_event", "study"):
            op.execute(f"CREATE STATISTICS st_{table}_sample_hash ON ((id * 2654435761) % 4294967296) FROM {table}")
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("irradiation_event", "study"):
            op.execute(f"DROP STATISTICS st_{table}_sample_hash")
    op.drop_index('ix_study_sample_date', table_name='study')
    op.drop_index('ix_event_sample_date', table_name='irradiation_event')
