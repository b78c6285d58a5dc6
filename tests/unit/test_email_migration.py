"""Migration 0007 gives every user an email address (Airflow 2's clients require one)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from windsock.db import migrate
from windsock.db.engine import engine

INSERT_USER = text("INSERT INTO \"user\" (username, email, password_hash, active, created_at, "
                   "first_name, last_name, login_count, failed_login_count) "
                   "VALUES (:name, :email, 'x', 1, '2026-01-01 00:00:00', '', '', 0, 0)")


def test_users_without_email_get_a_local_address_and_email_becomes_required(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setenv("WINDSOCK__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path}/old.db")
    cfg = migrate._alembic_config()
    with engine().begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        for name, email in (("admin", None), ("ann@corp", None), ("bob", "ann.corp@localhost"),
                            ("cy", "cy@example.org")):
            conn.execute(INSERT_USER, {"name": name, "email": email})
    migrate.upgrade()
    with engine().connect() as conn:
        emails = dict(conn.execute(text("SELECT username, email FROM \"user\"")).all())
    assert emails == {"admin": "admin@localhost", "ann@corp": "ann.corp.2@localhost",
                      "bob": "ann.corp@localhost", "cy": "cy@example.org"}
    with pytest.raises(IntegrityError), engine().begin() as conn:
        conn.execute(INSERT_USER, {"name": "dee", "email": None})
