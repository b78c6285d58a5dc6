"""Backfills: the `backfill` table (at most one backfill per DAG that is not completed, kept by a
partial unique index) and the backfill each DAG run belongs to, `dag_run.backfill_id`.

`dag_run.backfill_id` has no foreign key: SQLite adds one only by rebuilding `dag_run`, and with
foreign keys on, dropping the old table would cascade to every task instance. Backfills are only
deleted with their DAG, which deletes its runs too.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ACTIVE = sa.text("completed_at IS NULL")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "backfill",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dag_id", sa.String(length=250), sa.ForeignKey("dag.dag_id", ondelete="CASCADE"),
                  nullable=False),
        _when("from_date"), _when("to_date"),
        sa.Column("run_backwards", sa.Boolean(), nullable=False),
        sa.Column("dag_run_conf", sa.Text(), nullable=False),
        sa.Column("reprocess_behavior", sa.String(length=20), nullable=False),
        sa.Column("max_active_runs", sa.Integer(), nullable=False),
        sa.Column("is_paused", sa.Boolean(), nullable=False),
        _when("next_logical_date", nullable=True),
        _when("created_at"), _when("completed_at", nullable=True), _when("updated_at"),
    )
    op.create_index("ix_backfill_dag_id", "backfill", ["dag_id"])
    op.create_index("ix_backfill_created_at", "backfill", ["created_at"])
    op.create_index("uq_backfill_active_dag_id", "backfill", ["dag_id"], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    with op.batch_alter_table("dag_run") as batch:
        batch.add_column(sa.Column("backfill_id", sa.Integer(), nullable=True))
    op.create_index("ix_dag_run_backfill_id", "dag_run", ["backfill_id"])


def downgrade() -> None:
    op.drop_index("ix_dag_run_backfill_id", table_name="dag_run")
    with op.batch_alter_table("dag_run") as batch:
        batch.drop_column("backfill_id")
    op.drop_table("backfill")
