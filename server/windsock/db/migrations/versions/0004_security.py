"""Security: roles, actions, resources and permissions; users' roles and profile fields; personal
API tokens and cookie sessions.

Each user's former single `role` becomes their one entry in `user_role`. The built-in roles'
permissions are filled in after every upgrade by windsock.db.migrate.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _named_table(name: str, length: int) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(length), nullable=False, unique=True),
    )


def upgrade() -> None:
    _named_table("role", 64)
    _named_table("action", 100)
    _named_table("resource", 300)
    op.create_table(
        "permission",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("action_id", sa.Integer, sa.ForeignKey("action.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("resource_id", sa.Integer, sa.ForeignKey("resource.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.UniqueConstraint("action_id", "resource_id"),
    )
    op.create_table(
        "role_permission",
        sa.Column("role_id", sa.Integer, sa.ForeignKey("role.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("permission_id", sa.Integer,
                  sa.ForeignKey("permission.id", ondelete="CASCADE"), primary_key=True,
                  index=True),
    )
    op.execute("INSERT INTO role (name) SELECT DISTINCT role FROM \"user\"")
    # Rebuilding the user table (SQLite) drops it, and dropping it would cascade to tables
    # referencing it: keep each user's role aside and create those tables after the rebuild.
    op.execute("CREATE TABLE legacy_user_role AS SELECT id AS user_id, role FROM \"user\"")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("role")
        batch.add_column(sa.Column("first_name", sa.String(256), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("last_name", sa.String(256), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("email", sa.String(320)))
        batch.add_column(sa.Column("changed_on", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("last_login", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("login_count", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("failed_login_count", sa.Integer, nullable=False,
                                   server_default="0"))
        batch.create_unique_constraint("uq_user_email", ["email"])
    op.execute("UPDATE \"user\" SET changed_on = created_at")
    op.create_table(
        "user_role",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("role_id", sa.Integer, sa.ForeignKey("role.id", ondelete="CASCADE"),
                  primary_key=True, index=True),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "user_session",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.execute("INSERT INTO user_role (user_id, role_id) SELECT l.user_id, r.id "
               "FROM legacy_user_role l JOIN role r ON r.name = l.role")
    op.drop_table("legacy_user_role")


def downgrade() -> None:
    # Each user keeps one role (the first by name); tables referencing the user table go before
    # it is rebuilt, for the same reason as in upgrade.
    op.execute("CREATE TABLE legacy_user_role AS SELECT ur.user_id, MIN(r.name) AS role "
               "FROM user_role ur JOIN role r ON r.id = ur.role_id GROUP BY ur.user_id")
    for table in ("user_session", "api_token", "user_role"):
        op.drop_table(table)
    with op.batch_alter_table("user") as batch:
        batch.drop_constraint("uq_user_email", type_="unique")
        for column in ("failed_login_count", "login_count", "last_login", "changed_on", "email",
                       "last_name", "first_name"):
            batch.drop_column(column)
        batch.add_column(sa.Column("role", sa.String(64), nullable=False, server_default="Public"))
    op.execute("UPDATE \"user\" SET role = (SELECT l.role FROM legacy_user_role l "
               "WHERE l.user_id = \"user\".id) "
               "WHERE id IN (SELECT user_id FROM legacy_user_role)")
    op.drop_table("legacy_user_role")
    for table in ("role_permission", "permission", "resource", "action", "role"):
        op.drop_table(table)
