"""derived_dose: effective dose, SSDE and peak skin dose computed from a study's records, linked to their inputs

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dosimetry_due', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('dosimetry_inputs_sha256', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_study_dosimetry_due', ['id'], unique=False, sqlite_where=sa.text('dosimetry_due = 1'),
                              postgresql_where=sa.text('dosimetry_due'))
    # studies already recorded get their derived doses once, after the upgrade
    op.execute(sa.text("UPDATE study SET dosimetry_due = :due").bindparams(due=True))
    op.create_table(
        'derived_dose',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('part', sa.String(length=128), nullable=False),
        sa.Column('dose_object_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('method', sa.Text(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('effective_dose_mSv', sa.Float(), nullable=True),
        sa.Column('ssde_mGy', sa.Float(), nullable=True),
        sa.Column('ctdivol_mGy', sa.Float(), nullable=True),
        sa.Column('diameter_cm', sa.Float(), nullable=True),
        sa.Column('psd_mGy', sa.Float(), nullable=True),
        sa.Column('kar_total_mGy', sa.Float(), nullable=True),
        sa.Column('uncertainty_relative', sa.Float(), nullable=True),
        sa.Column('inputs', sa.JSON(), nullable=True),
        sa.Column('inputs_sha256', sa.String(length=64), nullable=False),
        sa.Column('model_version', sa.String(length=32), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('map_png', sa.LargeBinary(), nullable=True),
        sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.ForeignKeyConstraint(['study_id'], ['study.id'], name='fk_derived_dose_study', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['dose_object_id'], ['dose_object.id'], name='fk_derived_dose_object',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ux_derived_dose_part', 'derived_dose', ['study_id', 'kind', 'part'], unique=True)
    op.create_index(op.f('ix_derived_dose_study_id'), 'derived_dose', ['study_id'], unique=False)


def downgrade() -> None:
    op.drop_table('derived_dose')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_index('ix_study_dosimetry_due', sqlite_where=sa.text('dosimetry_due = 1'),
                            postgresql_where=sa.text('dosimetry_due'))
        batch_op.drop_column('dosimetry_inputs_sha256')
        batch_op.drop_column('dosimetry_due')
