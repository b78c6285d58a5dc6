"""Looking up the user a backend has vouched for."""

from __future__ import annotations

from sqlalchemy import select

from windsock.db.engine import session
from windsock.db.models import User
from windsock.security.backends import Identity


def active_user(username: str, via: str) -> Identity | None:
    """The identity of the active user called `username`; None if there is none."""
    with session() as sess:
        row = sess.execute(select(User.id, User.username)
                           .where(User.username == username, User.active.is_(True))).first()
    return Identity(row.id, row.username, via) if row else None
