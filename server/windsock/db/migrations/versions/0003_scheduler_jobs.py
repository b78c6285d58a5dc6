"""Scheduler jobs and their heartbeats; task instance heartbeats and the job that queued them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_type", sa.String(30), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("hostname", sa.String(500), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date", sa.DateTime(timezone=True)),
        sa.Column("latest_heartbeat", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("idx_job_type_heartbeat", "job", ["job_type", "latest_heartbeat"])
    with op.batch_alter_table("task_instance") as batch:
        batch.add_column(sa.Column("queued_by_job_id", sa.Integer))
        batch.add_column(sa.Column("last_heartbeat_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("task_instance") as batch:
        batch.drop_column("last_heartbeat_at")
        batch.drop_column("queued_by_job_id")
    op.drop_table("job")
