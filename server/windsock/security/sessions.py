"""Cookie sessions: created at login, ended at logout or expiry.

The cookie holds a random secret; the database keeps only its SHA-256 digest, the user and the
session's CSRF token, so a stolen database does not yield live cookies.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from windsock import config
from windsock.db.engine import session
from windsock.db.models import User, UserSession, utcnow
from windsock.security.backends import Identity
from windsock.security.tokens import digest

COOKIE = "windsock_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class LiveSession:
    identity: Identity
    csrf_token: str


def start(identity: Identity) -> tuple[str, str, int]:
    """A new session for the user: (cookie secret, CSRF token, lifetime in seconds)."""
    lifetime = config.get_int("api", "session_expiry")
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    with session() as sess:
        sess.execute(delete(UserSession).where(UserSession.expires_at <= now))
        sess.add(UserSession(digest=digest(secret), user_id=identity.user_id, csrf_token=csrf,
                             created_at=now, expires_at=now + timedelta(seconds=lifetime)))
    return secret, csrf, lifetime


def find(secret: str) -> LiveSession | None:
    """The unexpired session of an active user that the cookie secret opens."""
    with session() as sess:
        row = sess.execute(
            select(UserSession.csrf_token, User.id, User.username)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.digest == digest(secret), UserSession.expires_at > utcnow(),
                   User.active.is_(True))).first()
    return LiveSession(Identity(row.id, row.username, "session"), row.csrf_token) if row else None


def end(secret: str) -> None:
    with session() as sess:
        sess.execute(delete(UserSession).where(UserSession.digest == digest(secret)))
