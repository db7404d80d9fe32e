"""dose screens read by OCR: each ledger row's OCR state and what the reading said

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

A dose screen is stored ``queued`` with ``ocr_state`` ``queued``; the OCR thread takes the oldest queued row, has it
read in the OCR process and writes the outcome on the same row (``recorded``, ``needs_review``, ``ignored`` or
``error``).  The queue is these rows: a crash of the OCR process or of Orthanc loses none.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dose_object', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ocr_state', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('ocr', sa.JSON(), nullable=True))
        batch_op.create_index('ix_dose_object_ocr_state', ['ocr_state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dose_object', schema=None) as batch_op:
        batch_op.drop_index('ix_dose_object_ocr_state')
        batch_op.drop_column('ocr')
        batch_op.drop_column('ocr_state')
