"""The process group of a running try's task processes, so that a later try on the same machine
can stop what an earlier one left behind.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_instance") as batch:
        batch.add_column(sa.Column("pgid", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("task_instance") as batch:
        batch.drop_column("pgid")
