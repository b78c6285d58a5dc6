"""Schema migrations with Alembic, driven from code (no alembic.ini needed).

Alembic is imported only when a function here runs: every task runner process imports the
command line, and loading Alembic would add a tenth of a second to each task's start.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from windsock.db.engine import engine
from windsock.security.roles import sync_built_in_roles

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


class NotMigrated(RuntimeError):
    """The database schema is missing or older than this version of Windsock."""


def _alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision() -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine().connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade() -> tuple[str | None, str]:
    """Create or upgrade the schema to the latest revision, then sync the built-in roles'
    permissions, in one transaction; returns (from, to)."""
    from alembic import command

    before = current_revision()
    cfg = _alembic_config()
    with engine().begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        with Session(bind=conn) as sess:
            sync_built_in_roles(sess)
            sess.flush()
    return before, head_revision()


def check_current() -> None:
    """Raise NotMigrated with the command to run when the schema is not at the latest revision."""
    current, head = current_revision(), head_revision()
    if current != head:
        state = "has no Windsock schema" if current is None else f"is at revision {current}"
        raise NotMigrated(
            f"The metadata database {state}, but this version needs revision {head}. "
            "Run `windsock db migrate` first."
        )
