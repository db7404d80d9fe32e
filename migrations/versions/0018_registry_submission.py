"""registry_submission: the outbox and log of de-identified dose reports sent to a dose registry (IHE REM)

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'registry_submission',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('modality', sa.String(length=64), nullable=False),
        sa.Column('dose_object_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_sop_instance_uid', sa.String(length=64), nullable=True),
        sa.Column('method', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['dose_object_id'], ['dose_object.id'], name='fk_registry_submission_object',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ux_registry_submission', 'registry_submission', ['modality', 'dose_object_id'], unique=True)
    op.create_index('ix_registry_submission_due', 'registry_submission', ['status', 'id'])


def downgrade() -> None:
    op.drop_table('registry_submission')
