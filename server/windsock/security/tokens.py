"""Bearer tokens: short-lived signed access tokens, and long-lived personal API tokens.

An access token is a JWT (HS256, signed with the key from `keys`) naming the user; it is valid
until it expires and only while the user stays active. A personal API token is `wsk_` followed by
a random secret; only its SHA-256 digest is stored, and deleting the row revokes it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import jwt
from sqlalchemy import select, update

from windsock import config
from windsock.db.engine import session
from windsock.db.models import ApiToken, User, utcnow
from windsock.security.backends import Identity
from windsock.security.identities import active_user
from windsock.security.keys import signing_key

PERSONAL_PREFIX = "wsk_"
ALGORITHM = "HS256"
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def issue_access_token(identity: Identity) -> tuple[str, int]:
    """A signed access token for the user and its lifetime in seconds."""
    lifetime = config.get_int("api", "access_token_expiry")
    now = utcnow()
    claims = {"sub": identity.username, "uid": identity.user_id, "iat": now,
              "exp": now + timedelta(seconds=lifetime), "jti": secrets.token_hex(8)}
    return jwt.encode(claims, signing_key(), algorithm=ALGORITHM), lifetime


def access_token_identity(token: str) -> Identity | None:
    """The identity an unexpired, correctly signed access token names, while still active."""
    try:
        claims = jwt.decode(token, signing_key(), algorithms=[ALGORITHM],
                            options={"require": ["sub", "uid", "exp"]})
    except jwt.InvalidTokenError:
        return None
    identity = active_user(str(claims["sub"]), via="bearer")
    return identity if identity and identity.user_id == claims["uid"] else None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_personal_token() -> tuple[str, str]:
    """A fresh personal token and the digest to store for it."""
    token = PERSONAL_PREFIX + secrets.token_urlsafe(32)
    return token, digest(token)


def personal_token_identity(token: str) -> Identity | None:
    """The owner of an unrevoked, unexpired personal token, while they stay active."""
    now = utcnow()
    with session() as sess:
        row = sess.execute(
            select(ApiToken.id, ApiToken.expires_at, ApiToken.last_used_at, User.id.label("uid"),
                   User.username)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_digest == digest(token), User.active.is_(True))).first()
        if row is None or (row.expires_at is not None and row.expires_at <= now):
            return None
        if _stale(row.last_used_at, now):
            sess.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return Identity(row.uid, row.username, "bearer")


def _stale(last_used: datetime | None, now: datetime) -> bool:
    return last_used is None or now - last_used >= _LAST_USED_RESOLUTION
