"""Slowing down password guessing: failed checks are counted per username and client address.

After `[api] auth_failure_limit` failures within `[api] auth_failure_window` seconds of the first
of them, further attempts for that pair are refused with 429 until that window ends, whether or
not the password would now be right. The counts live in the database (`auth_failure`, one row per
pair, keyed by a digest of it), so the limit holds in total across every worker process and every
API server: a check is one primary-key read, a failure one upsert -- atomic on SQLite and
PostgreSQL alike, so concurrent failures all count -- and each process deletes the rows of
finished windows at most once a minute.
"""

from __future__ import annotations

import hashlib
import math
import time
from datetime import timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.orm import Session

from windsock import config
from windsock.db.engine import dialect_insert, session
from windsock.db.models import AuthFailure, utcnow
from windsock.security.backends import TooManyFailures

CLEANUP_INTERVAL_SECONDS = 60
_next_cleanup = 0.0


def _digest(username: str, address: str) -> str:
    pair = f"{username}\x00{address}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(pair).hexdigest()


def _window() -> timedelta:
    return timedelta(seconds=config.get_int("api", "auth_failure_window"))


def check(sess: Session, username: str, address: str) -> int:
    """The pair's failures in its current window; raises TooManyFailures once they reached
    the limit."""
    now = utcnow()
    row = sess.execute(select(AuthFailure.failures, AuthFailure.window_start).where(
        AuthFailure.digest == _digest(username, address),
        AuthFailure.window_start > now - _window())).one_or_none()
    if row is None:
        return 0
    if row.failures >= config.get_int("api", "auth_failure_limit"):
        wait = (row.window_start + _window() - now).total_seconds()
        raise TooManyFailures(max(1, math.ceil(wait)))
    return row.failures


def failed(sess: Session, username: str, address: str) -> None:
    """Count one failure of the pair in `sess`, starting a new window when its last one is over."""
    now = utcnow()
    insert = dialect_insert(sess, AuthFailure)
    over = AuthFailure.window_start <= now - _window()
    sess.execute(insert.values(digest=_digest(username, address), failures=1, window_start=now)
                 .on_conflict_do_update(index_elements=[AuthFailure.digest], set_={
                     "failures": case((over, insert.excluded.failures),
                                      else_=AuthFailure.failures + 1),
                     "window_start": case((over, insert.excluded.window_start),
                                          else_=AuthFailure.window_start)}))


def succeeded(username: str, address: str) -> None:
    """Forget the pair's failures (call it only when `check` found some: it writes)."""
    with session() as sess:
        sess.execute(delete(AuthFailure).where(AuthFailure.digest == _digest(username, address)))


def clean_up() -> None:
    """Delete the rows of finished windows, unless this process did so less than a minute ago.
    Call it outside other transactions: it writes in one of its own."""
    global _next_cleanup
    if time.monotonic() < _next_cleanup:
        return
    _next_cleanup = time.monotonic() + CLEANUP_INTERVAL_SECONDS
    with session() as sess:
        sess.execute(delete(AuthFailure).where(AuthFailure.window_start <= utcnow() - _window()))
