"""Creating users (the CLI and `standalone` use this)."""

from __future__ import annotations

from sqlalchemy import select

from windsock.db.engine import session
from windsock.db.models import User
from windsock.security.passwords import hash_password

ROLES = ("Admin", "Op", "User", "Viewer", "Public")


class UserExists(ValueError):
    pass


def create_user(username: str, password: str, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    with session() as sess:
        if sess.scalar(select(User.id).where(User.username == username)) is not None:
            raise UserExists(f"User {username!r} already exists.")
        sess.add(User(username=username, password_hash=hash_password(password), role=role,
                      active=True))


def user_exists(username: str) -> bool:
    with session() as sess:
        return sess.scalar(select(User.id).where(User.username == username)) is not None
