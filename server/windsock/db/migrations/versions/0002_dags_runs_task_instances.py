"""DAGs, their code and tags, DAG runs, task instances and their tries, XComs, the event log, import errors, DAG warnings and DAG parsing requests.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dag',
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('is_paused', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('last_parsed_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fileloc', sa.String(length=2000), nullable=False),
    sa.Column('file_token', sa.String(length=64), nullable=False),
    sa.Column('owners', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('schedule', sa.Text(), nullable=True),
    sa.Column('timetable_description', sa.String(length=1000), nullable=True),
    sa.Column('max_active_tasks', sa.Integer(), nullable=False),
    sa.Column('max_active_runs', sa.Integer(), nullable=False),
    sa.Column('has_task_concurrency_limits', sa.Boolean(), nullable=False),
    sa.Column('has_import_errors', sa.Boolean(), nullable=False),
    sa.Column('next_dagrun', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_dagrun_data_interval_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_dagrun_data_interval_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_dagrun_create_after', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('dag_id')
    )
    with op.batch_alter_table('dag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dag_file_token'), ['file_token'], unique=False)
        batch_op.create_index(batch_op.f('ix_dag_is_active'), ['is_active'], unique=False)
        batch_op.create_index(batch_op.f('ix_dag_is_paused'), ['is_paused'], unique=False)
        batch_op.create_index(batch_op.f('ix_dag_next_dagrun'), ['next_dagrun'], unique=False)
        batch_op.create_index(batch_op.f('ix_dag_next_dagrun_create_after'), ['next_dagrun_create_after'], unique=False)

    op.create_table('dag_code',
    sa.Column('file_token', sa.String(length=64), nullable=False),
    sa.Column('fileloc', sa.String(length=2000), nullable=False),
    sa.Column('source_code', sa.Text(), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('file_token')
    )
    op.create_table('import_error',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(length=2000), nullable=False),
    sa.Column('stack_trace', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('import_error', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_error_filename'), ['filename'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_error_timestamp'), ['timestamp'], unique=False)

    op.create_table('dag_parsing_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fileloc', sa.String(length=2000), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )

    op.create_table('log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dttm', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=True),
    sa.Column('task_id', sa.String(length=250), nullable=True),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.Column('map_index', sa.Integer(), nullable=True),
    sa.Column('try_number', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=60), nullable=False),
    sa.Column('execution_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('owner', sa.String(length=500), nullable=True),
    sa.Column('extra', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('log', schema=None) as batch_op:
        batch_op.create_index('idx_log_dag_task_run', ['dag_id', 'task_id', 'run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_log_dttm'), ['dttm'], unique=False)
        batch_op.create_index(batch_op.f('ix_log_event'), ['event'], unique=False)
        batch_op.create_index(batch_op.f('ix_log_owner'), ['owner'], unique=False)

    op.create_table('dag_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('logical_date', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data_interval_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('data_interval_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('start_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=50), nullable=False),
    sa.Column('run_type', sa.String(length=50), nullable=False),
    sa.Column('external_trigger', sa.Boolean(), nullable=False),
    sa.Column('conf', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('last_scheduling_decision', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dag_id'], ['dag.dag_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dag_id', 'logical_date', name='dag_run_dag_id_logical_date_key'),
    sa.UniqueConstraint('dag_id', 'run_id', name='dag_run_dag_id_run_id_key')
    )
    with op.batch_alter_table('dag_run', schema=None) as batch_op:
        batch_op.create_index('idx_dag_run_dag_id_state', ['dag_id', 'state'], unique=False)
        batch_op.create_index('idx_dag_run_run_id', ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dag_run_end_date'), ['end_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_dag_run_logical_date'), ['logical_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_dag_run_start_date'), ['start_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_dag_run_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_dag_run_updated_at'), ['updated_at'], unique=False)

    op.create_table('dag_tag',
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['dag_id'], ['dag.dag_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dag_id', 'name')
    )
    with op.batch_alter_table('dag_tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dag_tag_name'), ['name'], unique=False)

    op.create_table('dag_warning',
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('warning_type', sa.String(length=50), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dag_id'], ['dag.dag_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dag_id', 'warning_type')
    )
    with op.batch_alter_table('dag_warning', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dag_warning_timestamp'), ['timestamp'], unique=False)

    op.create_table('serialized_dag',
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('dag_hash', sa.String(length=64), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dag_id'], ['dag.dag_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dag_id')
    )
    op.create_table('task_instance',
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('task_id', sa.String(length=250), nullable=False),
    sa.Column('map_index', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=True),
    sa.Column('try_number', sa.Integer(), nullable=False),
    sa.Column('max_tries', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('hostname', sa.String(length=1000), nullable=False),
    sa.Column('unixname', sa.String(length=1000), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('pool', sa.String(length=256), nullable=False),
    sa.Column('pool_slots', sa.Integer(), nullable=False),
    sa.Column('queue', sa.String(length=256), nullable=True),
    sa.Column('priority_weight', sa.Integer(), nullable=False),
    sa.Column('operator', sa.String(length=1000), nullable=True),
    sa.Column('executor', sa.String(length=1000), nullable=True),
    sa.Column('queued_dttm', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dag_id', 'run_id'], ['dag_run.dag_id', 'dag_run.run_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dag_id', 'run_id', 'task_id', 'map_index')
    )
    with op.batch_alter_table('task_instance', schema=None) as batch_op:
        batch_op.create_index('idx_task_instance_dag_id_state', ['dag_id', 'state'], unique=False)
        batch_op.create_index('idx_task_instance_run_id', ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_instance_duration'), ['duration'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_instance_end_date'), ['end_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_instance_executor'), ['executor'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_instance_pool'), ['pool'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_instance_queue'), ['queue'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_instance_start_date'), ['start_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_instance_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_instance_updated_at'), ['updated_at'], unique=False)

    op.create_table('task_instance_history',
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('task_id', sa.String(length=250), nullable=False),
    sa.Column('map_index', sa.Integer(), nullable=False),
    sa.Column('try_number', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=True),
    sa.Column('max_tries', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('hostname', sa.String(length=1000), nullable=False),
    sa.Column('unixname', sa.String(length=1000), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('pool', sa.String(length=256), nullable=False),
    sa.Column('pool_slots', sa.Integer(), nullable=False),
    sa.Column('queue', sa.String(length=256), nullable=True),
    sa.Column('priority_weight', sa.Integer(), nullable=False),
    sa.Column('operator', sa.String(length=1000), nullable=True),
    sa.Column('executor', sa.String(length=1000), nullable=True),
    sa.Column('queued_dttm', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dag_id', 'run_id', 'task_id', 'map_index'], ['task_instance.dag_id', 'task_instance.run_id', 'task_instance.task_id', 'task_instance.map_index'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dag_id', 'run_id', 'task_id', 'map_index', 'try_number')
    )
    op.create_table('xcom',
    sa.Column('dag_id', sa.String(length=250), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('task_id', sa.String(length=250), nullable=False),
    sa.Column('map_index', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dag_id', 'run_id', 'task_id', 'map_index'], ['task_instance.dag_id', 'task_instance.run_id', 'task_instance.task_id', 'task_instance.map_index'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dag_id', 'run_id', 'task_id', 'map_index', 'key')
    )
    with op.batch_alter_table('xcom', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_xcom_timestamp'), ['timestamp'], unique=False)



def downgrade() -> None:
    for table in ("xcom", "task_instance_history", "task_instance", "dag_run", "log",
                  "dag_warning", "serialized_dag", "dag_tag", "dag_parsing_request", "import_error",
                  "dag_code", "dag"):
        op.drop_table(table)
