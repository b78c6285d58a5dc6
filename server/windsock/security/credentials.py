"""Checking a username and password: the one place every password check goes through.

Verifying a password with the KDF costs tens of milliseconds by design, so a successful check
is remembered for `[api] auth_cache_seconds`, keyed by a keyed hash of the credentials (never the
password itself) and tied to the user's stored password hash, so changing the password forgets
it. The active flag is read from the database on every request, so changing it takes effect at
once; roles as `authorization` says. Failures are counted per username and client address (see throttle).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from sqlalchemy import Row, select, update

from windsock import config
from windsock.db.engine import session
from windsock.db.models import User, utcnow
from windsock.security import throttle
from windsock.security.backends import Identity
from windsock.security.passwords import hash_password, verify_password

_cache_key = secrets.token_bytes(32)
_cache: dict[bytes, tuple[float, int, str]] = {}
_cache_lock = threading.Lock()
_CACHE_MAX = 10_000
_DUMMY_HASH = hash_password(secrets.token_urlsafe())


def _digest(username: str, password: str) -> bytes:
    return hmac.new(_cache_key, f"{username}\x00{password}".encode(), hashlib.sha256).digest()


def _remembered(digest: bytes, user: Row) -> bool:
    with _cache_lock:
        hit = _cache.get(digest)
    return bool(hit and hit[0] > time.monotonic() and hit[1] == user.id
                and hmac.compare_digest(hit[2], user.password_hash))


def _remember(digest: bytes, user: Row) -> None:
    ttl = config.get_int("api", "auth_cache_seconds")
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[digest] = (time.monotonic() + ttl, user.id, user.password_hash)


def verify(username: str, password: str, address: str, via: str) -> Identity | None:
    """The identity for a valid password of an active user; None otherwise.

    Raises TooManyFailures (429) once this username and address have failed too often.
    """
    with session() as sess:
        failures = throttle.check(sess, username, address)
        user = sess.execute(select(User.id, User.username, User.active, User.password_hash)
                            .where(User.username == username)).one_or_none()
    # The KDF runs outside the transaction, which would otherwise hold a pooled connection.
    digest = _digest(username, password)
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)  # the same cost whether or not the user exists
        ok = False
    else:
        ok = _remembered(digest, user) or verify_password(user.password_hash, password)
    if not ok:
        _count_failure(username, address, user)
        return None
    _remember(digest, user)
    if failures:
        throttle.succeeded(username, address)
    return Identity(user.id, user.username, via)


def _count_failure(username: str, address: str, user: Row | None) -> None:
    # A transaction of its own that starts by writing: SQLite then waits for the write lock,
    # where a transaction that read first would fail at once if another one wrote meanwhile.
    with session() as sess:
        throttle.failed(sess, username, address)
        if user is not None:
            sess.execute(update(User).where(User.id == user.id)
                         .values(failed_login_count=User.failed_login_count + 1))
    throttle.clean_up()


def record_login(user_id: int) -> None:
    """Count an interactive login (a session or an access token being issued)."""
    with session() as sess:
        sess.execute(update(User).where(User.id == user_id)
                     .values(login_count=User.login_count + 1, last_login=utcnow(),
                             failed_login_count=0))
