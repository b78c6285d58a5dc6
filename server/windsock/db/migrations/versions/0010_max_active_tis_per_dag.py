"""How many instances of a task may run at once over all runs of its DAG (a task's
`max_active_tis_per_dag`), kept on each task instance for the scheduler's queueing step.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_instance") as batch:
        batch.add_column(sa.Column("max_active_tis_per_dag", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("task_instance") as batch:
        batch.drop_column("max_active_tis_per_dag")
