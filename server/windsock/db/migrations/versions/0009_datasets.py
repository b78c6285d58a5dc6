"""Datasets and data-aware scheduling: datasets, the DAGs scheduled on them and the tasks that
update them, dataset events, each consuming DAG's queue of updated datasets, and the events a
dataset-triggered run consumed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _when(name: str, index: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, index=index)


def upgrade() -> None:
    op.create_table(
        "dataset",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uri", sa.String(length=1500), nullable=False, unique=True),
        sa.Column("extra", sa.Text(), nullable=False),
        _when("created_at", index=True), _when("updated_at", index=True),
    )
    op.create_table(
        "dag_schedule_dataset_reference",
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("dag_id", sa.String(length=250), sa.ForeignKey("dag.dag_id", ondelete="CASCADE"),
                  primary_key=True, index=True),
        _when("created_at"), _when("updated_at"),
    )
    op.create_table(
        "task_outlet_dataset_reference",
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("dag_id", sa.String(length=250), sa.ForeignKey("dag.dag_id", ondelete="CASCADE"),
                  primary_key=True, index=True),
        sa.Column("task_id", sa.String(length=250), primary_key=True),
        _when("created_at"), _when("updated_at"),
    )
    op.create_table(
        "dataset_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.Column("source_dag_id", sa.String(length=250), nullable=True),
        sa.Column("source_task_id", sa.String(length=250), nullable=True),
        sa.Column("source_run_id", sa.String(length=250), nullable=True),
        sa.Column("source_map_index", sa.Integer(), nullable=True),
        _when("timestamp", index=True),
    )
    op.create_index("idx_dataset_event_dataset_id_timestamp", "dataset_event",
                    ["dataset_id", "timestamp"])
    op.create_index("idx_dataset_event_source", "dataset_event",
                    ["source_dag_id", "source_run_id", "source_task_id"])
    op.create_table(
        "dagrun_dataset_event",
        sa.Column("dag_run_id", sa.Integer(), sa.ForeignKey("dag_run.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("event_id", sa.Integer(),
                  sa.ForeignKey("dataset_event.id", ondelete="CASCADE"), primary_key=True,
                  index=True),
    )
    op.create_table(
        "dataset_dag_run_queue",
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("target_dag_id", sa.String(length=250),
                  sa.ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True, index=True),
        _when("created_at", index=True),
    )


def downgrade() -> None:
    for table in ("dataset_dag_run_queue", "dagrun_dataset_event", "dataset_event",
                  "task_outlet_dataset_reference", "dag_schedule_dataset_reference", "dataset"):
        op.drop_table(table)
