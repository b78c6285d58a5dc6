"""Creating users (the CLI and `standalone` use this)."""

from __future__ import annotations

from sqlalchemy import select

from windsock.db.engine import session
from windsock.db.models import Role, User
from windsock.security.passwords import hash_password


class UserExists(ValueError):
    pass


def create_user(username: str, password: str, role: str, *, email: str,
                first_name: str = "", last_name: str = "") -> None:
    """Create an active user holding one role; ValueError for an unknown role."""
    with session() as sess:
        role_row = sess.scalar(select(Role).where(Role.name == role))
        if role_row is None:
            known = ", ".join(sess.scalars(select(Role.name).order_by(Role.name)))
            raise ValueError(f"Unknown role {role!r}; choose one of {known}.")
        if sess.scalar(select(User.id).where(User.username == username)) is not None:
            raise UserExists(f"User {username!r} already exists.")
        sess.add(User(username=username, password_hash=hash_password(password), active=True,
                      email=email, first_name=first_name, last_name=last_name, roles=[role_row]))


def user_exists(username: str) -> bool:
    with session() as sess:
        return sess.scalar(select(User.id).where(User.username == username)) is not None
