"""Indexes for the sorts added for Airflow 2's clients: event log entries by `run_id` and
`execution_date`, connections by `port`. (The sorts on free text, such as a variable's value or
an event's `extra`, have none: such values can be longer than an index entry may be.)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = (("ix_log_run_id", "log", "run_id"), ("ix_log_execution_date", "log", "execution_date"),
           ("ix_connection_port", "connection", "port"))


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
