"""Authenticating requests: the single place every credential check goes through.

Verifying a password with the KDF costs tens of milliseconds by design, so a successful check
is remembered for `[api] auth_cache_seconds`, keyed by a keyed hash of the credentials (never the
password itself), and tied to the user's stored password hash so that changing the password
forgets it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from sqlalchemy import select

from windsock import config
from windsock.db.engine import session
from windsock.db.models import User
from windsock.security.passwords import hash_password, verify_password

_cache_key = secrets.token_bytes(32)
_cache: dict[bytes, tuple[float, int, str, str]] = {}
_cache_lock = threading.Lock()
_CACHE_MAX = 10_000
_DUMMY_HASH = hash_password(secrets.token_urlsafe())


def _credential_digest(username: str, password: str) -> bytes:
    return hmac.new(_cache_key, f"{username}\x00{password}".encode(), hashlib.sha256).digest()


def _principal(user_id: int, username: str, role: str) -> dict:
    return {"sub": username, "uid": user_id, "role": role}


def basic(username: str, password: str) -> dict | None:
    """The principal for valid, active HTTP basic credentials; None otherwise."""
    digest = _credential_digest(username, password)
    with session() as sess:
        user = sess.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            verify_password(_DUMMY_HASH, password)  # same cost whether or not the user exists
            return None
        with _cache_lock:
            hit = _cache.get(digest)
        if hit and hit[0] > time.monotonic() and hit[1] == user.id and hit[2] == user.password_hash:
            return _principal(user.id, user.username, user.role)
        if not verify_password(user.password_hash, password):
            return None
        ttl = config.get_int("api", "auth_cache_seconds")
        with _cache_lock:
            if len(_cache) >= _CACHE_MAX:
                _cache.clear()
            _cache[digest] = (time.monotonic() + ttl, user.id, user.password_hash, user.role)
        return _principal(user.id, user.username, user.role)
