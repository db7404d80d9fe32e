"""manual entries: doses entered by hand, each with its record (source manual) in dose_object

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'manual_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('dose_object_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('entered_value', sa.Float(), nullable=False),
        sa.Column('entered_unit', sa.String(length=32), nullable=False),
        sa.Column('modality', sa.String(length=16), nullable=False),
        sa.Column('performed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('performed_by', sa.Text(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('outlier_confirmed', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=128), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['dose_object_id'], ['dose_object.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['study_id'], ['study.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dose_object_id'),
    )
    op.create_index(op.f('ix_manual_entry_study_id'), 'manual_entry', ['study_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_manual_entry_study_id'), table_name='manual_entry')
    op.drop_table('manual_entry')
