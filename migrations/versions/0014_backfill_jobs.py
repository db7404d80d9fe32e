"""Back-fill jobs from a remote PACS: the job, the studies it found, the dose objects it retrieves

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'backfill_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('remote_modality', sa.String(length=64), nullable=False),
        sa.Column('date_from', sa.Date(), nullable=False),
        sa.Column('date_to', sa.Date(), nullable=False),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('phase', sa.String(length=16), nullable=True),
        sa.Column('next_date', sa.Date(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_backfill_job_state', 'backfill_job', ['state'])
    op.create_table(
        'backfill_study',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('study_instance_uid', sa.String(length=64), nullable=False),
        sa.Column('study_date', sa.Date(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['backfill_job.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('job_id', 'study_instance_uid', name='uq_backfill_study_job_uid'),
    )
    op.create_index('ix_backfill_study_job_state', 'backfill_study', ['job_id', 'state'])
    op.create_table(
        'backfill_object',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('series_instance_uid', sa.String(length=64), nullable=False),
        sa.Column('sop_instance_uid', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('retrieved_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['backfill_job.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['study_id'], ['backfill_study.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('job_id', 'sop_instance_uid', name='uq_backfill_object_job_uid'),
    )
    op.create_index('ix_backfill_object_job_state', 'backfill_object', ['job_id', 'state', 'kind'])
    op.create_index('ix_backfill_object_study_id', 'backfill_object', ['study_id'])
    op.create_index('ix_backfill_object_sop_instance_uid', 'backfill_object', ['sop_instance_uid'])


def downgrade() -> None:
    op.drop_table('backfill_object')
    op.drop_table('backfill_study')
    op.drop_table('backfill_job')
