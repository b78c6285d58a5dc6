"""Migration 0004 turns each user's former single role into their entry in `user_role`, and
the upgrade fills in the built-in roles' permissions."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from windsock.db import migrate
from windsock.db.engine import engine


def test_users_keep_their_role_across_the_upgrade(tmp_path, monkeypatch):
    monkeypatch.setenv("WINDSOCK__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path}/old.db")
    cfg = migrate._alembic_config()
    with engine().begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(text("INSERT INTO \"user\" (username, password_hash, role, active, "
                          "created_at) VALUES ('olga', 'x', 'Op', 1, '2026-01-01 00:00:00')"))
    migrate.upgrade()
    with engine().connect() as conn:
        roles = conn.execute(text(
            "SELECT r.name FROM user_role ur JOIN role r ON r.id = ur.role_id "
            "JOIN \"user\" u ON u.id = ur.user_id WHERE u.username = 'olga'")).scalars().all()
        op_pairs = conn.execute(text(
            "SELECT COUNT(*) FROM role_permission rp JOIN role r ON r.id = rp.role_id "
            "WHERE r.name = 'Op'")).scalar()
    assert roles == ["Op"]
    assert op_pairs > 0


def test_the_downgrade_gives_each_user_one_role_back(tmp_path, monkeypatch):
    monkeypatch.setenv("WINDSOCK__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path}/new.db")
    migrate.upgrade()
    with engine().begin() as conn:
        conn.execute(text("INSERT INTO \"user\" (username, email, password_hash, active, "
                          "created_at, first_name, last_name, login_count, failed_login_count) "
                          "VALUES ('vic', 'vic@example.org', 'x', 1, '2026-01-01 00:00:00', "
                          "'', '', 0, 0)"))
        conn.execute(text("INSERT INTO user_role (user_id, role_id) SELECT u.id, r.id "
                          "FROM \"user\" u, role r WHERE u.username = 'vic' AND r.name = 'Viewer'"))
    cfg = migrate._alembic_config()
    with engine().begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    with engine().connect() as conn:
        role = conn.execute(text("SELECT role FROM \"user\" WHERE username = 'vic'")).scalar()
    assert role == "Viewer"
