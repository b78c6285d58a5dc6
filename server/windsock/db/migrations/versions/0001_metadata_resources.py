"""Users, variables, connections and pools, with the default pool.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(256), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(512), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "variable",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(250), nullable=False, unique=True),
        sa.Column("val", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
    )
    op.create_table(
        "connection",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conn_id", sa.String(250), nullable=False, unique=True),
        sa.Column("conn_type", sa.String(100), nullable=False, index=True),
        sa.Column("description", sa.Text),
        sa.Column("host", sa.String(500), index=True),
        sa.Column("schema", sa.String(500)),
        sa.Column("login", sa.String(500)),
        sa.Column("password", sa.Text),
        sa.Column("port", sa.Integer),
        sa.Column("extra", sa.Text),
    )
    pools = op.create_table(
        "slot_pool",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pool", sa.String(250), nullable=False, unique=True),
        sa.Column("slots", sa.Integer, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("include_deferred", sa.Boolean, nullable=False),
    )
    op.bulk_insert(pools, [{"pool": "default_pool", "slots": 128,
                            "description": "Default pool", "include_deferred": False}])


def downgrade() -> None:
    for table in ("slot_pool", "connection", "variable", "user"):
        op.drop_table(table)
