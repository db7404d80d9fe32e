"""occupational dose: departments, monitored people, dosimetry services and their mappings, imports, readings;
alerts on a person (no study)

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'occupational_department',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=256), nullable=False),
        sa.Column('site', sa.String(length=256), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'occupational_person',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.Text(), nullable=True),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['occupational_department.id'],
                                name='fk_occupational_person_department'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('staff_id'),
    )
    op.create_index('ix_occupational_person_department_id', 'occupational_person', ['department_id'])
    op.create_table(
        'dosimetry_service',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=256), nullable=False),
        sa.Column('mapping', sa.JSON(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_by', sa.String(length=128), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'dosimetry_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=True),
        sa.Column('filename', sa.Text(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('mapping', sa.JSON(), nullable=False),
        sa.Column('on_duplicate', sa.String(length=16), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('imported_by', sa.String(length=128), nullable=True),
        sa.Column('row_count', sa.Integer(), nullable=False),
        sa.Column('reading_count', sa.Integer(), nullable=False),
        sa.Column('refused', sa.JSON(), nullable=False),
        sa.Column('replaced_count', sa.Integer(), nullable=False),
        sa.Column('new_people', sa.JSON(), nullable=False),
        sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('undone_by', sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(['service_id'], ['dosimetry_service.id'], name='fk_dosimetry_import_service'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_dosimetry_import_sha256', 'dosimetry_import', ['sha256'])
    op.create_table(
        'dose_reading',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('import_id', sa.Integer(), nullable=False),
        sa.Column('source_row', sa.Integer(), nullable=True),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('position', sa.String(length=32), nullable=False),
        sa.Column('hp10_mSv', sa.Float(), nullable=True),
        sa.Column('hp007_mSv', sa.Float(), nullable=True),
        sa.Column('hp3_mSv', sa.Float(), nullable=True),
        sa.Column('below_level', sa.JSON(), nullable=True),
        sa.Column('dosimeter_id', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('replaced_by_import_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['occupational_person.id'], name='fk_dose_reading_person'),
        sa.ForeignKeyConstraint(['department_id'], ['occupational_department.id'], name='fk_dose_reading_department'),
        sa.ForeignKeyConstraint(['import_id'], ['dosimetry_import.id'], name='fk_dose_reading_import'),
        sa.ForeignKeyConstraint(['replaced_by_import_id'], ['dosimetry_import.id'], name='fk_dose_reading_replaced_by'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_dose_reading_person_period', 'dose_reading', ['person_id', 'period_end'])
    for column in ('department_id', 'import_id', 'period_end', 'status'):
        op.create_index(f'ix_dose_reading_{column}', 'dose_reading', [column])
    with op.batch_alter_table('alert') as batch_op:  # SQLite cannot change a column or add a foreign key in place
        batch_op.alter_column('study_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('study_instance_uid', existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_alert_person', 'occupational_person', ['person_id'], ['id'])
        batch_op.create_index('ix_alert_person_id', ['person_id'])
        batch_op.create_index('ux_alert_person_subject', ['rule_id', 'person_id', 'subject'], unique=True)


def downgrade() -> None:
    op.execute("DELETE FROM alert WHERE person_id IS NOT NULL")
    with op.batch_alter_table('alert') as batch_op:
        batch_op.drop_index('ux_alert_person_subject')
        batch_op.drop_index('ix_alert_person_id')
        batch_op.drop_constraint('fk_alert_person', type_='foreignkey')
        batch_op.drop_column('person_id')
        batch_op.alter_column('study_instance_uid', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('study_id', existing_type=sa.Integer(), nullable=False)
    for table in ('dose_reading', 'dosimetry_import', 'dosimetry_service', 'occupational_person', 'occupational_department'):
        op.drop_table(table)
