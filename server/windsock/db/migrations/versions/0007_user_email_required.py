"""Every user has an email address, as in Airflow 2, whose clients require one.

Users made without one (`windsock users create` without `--email`, the admin of `windsock
standalone`) get `<username>@localhost` (an `@` in the username becomes `.`), or
`<username>.<id>@localhost` when another user already has that address; they can set a real one
with PATCH /users/{username}. The column then refuses NULL (on SQLite by triggers).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SQLITE_EVENTS = ("INSERT", "UPDATE OF email")
USER = sa.table("user", sa.column("id", sa.Integer), sa.column("username", sa.String),
                sa.column("email", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    taken = set(conn.scalars(sa.select(USER.c.email).where(USER.c.email.is_not(None))))
    missing = conn.execute(sa.select(USER.c.id, USER.c.username)
                           .where(USER.c.email.is_(None)).order_by(USER.c.id)).all()
    for user_id, username in missing:
        local = username.replace("@", ".")
        email = f"{local}@localhost"
        if email in taken:
            email = f"{local}.{user_id}@localhost"
        taken.add(email)
        conn.execute(sa.update(USER).where(USER.c.id == user_id).values(email=email))
    if conn.dialect.name == "sqlite":
        # SQLite can only add NOT NULL by rebuilding the table, and dropping the old one would
        # cascade to the rows that refer to users (roles, sessions, tokens): triggers instead.
        for event in SQLITE_EVENTS:
            op.execute(f"CREATE TRIGGER user_email_required_{event.split()[0].lower()} "
                       f"BEFORE {event} ON \"user\" WHEN NEW.email IS NULL BEGIN "
                       "SELECT RAISE(ABORT, 'NOT NULL constraint failed: user.email'); END")
    else:
        op.alter_column("user", "email", existing_type=sa.String(320), nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in SQLITE_EVENTS:
            op.execute(f"DROP TRIGGER user_email_required_{event.split()[0].lower()}")
    else:
        op.alter_column("user", "email", existing_type=sa.String(320), nullable=True)
