"""dose_object.units: the units each field's values were written in, as the object wrote them (acceptance kit)

Revision ID: 0022
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dose_object') as batch:
        batch.add_column(sa.Column('units', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dose_object') as batch:
        batch.drop_column('units')
