"""Idempotent creates: the `Idempotency-Key` request header (IETF draft
draft-ietf-httpapi-idempotency-key-header) on the operations that declare it.

The first request with a key claims it for its caller by inserting the key's row in the
request's own transaction, before it creates anything; its answer is stored in that row before
the transaction commits. So the key is taken exactly when the object exists: a request that
fails leaves neither, and may be retried with the same key. A request with a key that is taken
gets the stored answer again (same status, body, Location and ETag) when its method, path and
body are the same, and 422 otherwise. A request that comes while the first one is still in
flight waits on the key's row (PostgreSQL's unique index; SQLite's write turn) until the first
one ends, then gets its answer: two requests with one key never create two objects. Keys belong
to their caller: another user's request with the same key is a request of its own. A key is
kept for `[api] idempotency_key_ttl` seconds.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import flask
from connexion import context
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from windsock import config
from windsock.api.problems import Unprocessable
from windsock.db.engine import insert_unless_taken, session
from windsock.db.models import IdempotencyKey, utcnow

HEADER = "Idempotency-Key"
KEPT_HEADERS = ("Content-Type", "Location", "ETag")


def accepts_key(operation: dict) -> bool:
    """Whether the contract gives the operation the Idempotency-Key header."""
    return any(p.get("in") == "header" and p.get("name", "").lower() == HEADER.lower()
               for p in operation.get("parameters", []))


def replayed() -> bool:
    """Whether this request was answered with a stored answer (it changed nothing)."""
    return flask.g.get("idempotency_replayed", False)


def _key(header: str) -> str:
    """The key: the header's value, without the quotes of a Structured Field string, as the
    draft writes it (`Idempotency-Key: "8e03978e"`)."""
    value = header.strip()
    return value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value


def _fingerprint(body: Any) -> str:
    request = flask.request
    text = json.dumps([request.method, request.path, request.query_string.decode(), body],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _claim(sess: Session, owner: str, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Take the key for this request (None), or the row of the request that took it first."""
    now = utcnow()
    sess.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    ttl = timedelta(seconds=config.get_int("api", "idempotency_key_ttl"))
    table = IdempotencyKey.__table__
    taken = sess.execute(insert_unless_taken(sess, table).returning(table.c.key), {
        "owner": owner, "key": key, "fingerprint": fingerprint, "created_at": now,
        "expires_at": now + ttl}).first()
    if taken is not None:
        return None
    return sess.scalar(select(IdempotencyKey).where(IdempotencyKey.owner == owner,
                                                    IdempotencyKey.key == key))


def _replay(row: IdempotencyKey, fingerprint: str) -> Any:
    if row.fingerprint != fingerprint:
        raise Unprocessable(f"The {HEADER} {row.key!r} was used for a different request (another "
                            "method, path or body); use a new key for a new request.")
    flask.g.idempotency_replayed = True
    return json.loads(row.body), row.status, json.loads(row.headers)


def _store(sess: Session, owner: str, key: str, result: Any) -> None:
    """Keep a successful answer with its key; a refused one gives the key up again."""
    row = sess.get(IdempotencyKey, (owner, key))
    if not isinstance(result, tuple) or result[1] >= 400:  # answers of creates are tuples
        sess.delete(row)
        return
    body, status, headers = result
    row.status = status
    row.body = json.dumps(body)
    row.headers = json.dumps({name: headers[name] for name in KEPT_HEADERS if name in headers})


def idempotent(function: Callable) -> Callable:
    """`function` (a create operation run in a request transaction) made idempotent for the
    requests that send an Idempotency-Key."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        header = flask.request.headers.get(HEADER)
        if header is None:
            return function(*args, **kwargs)
        key, owner = _key(header), context.context.get("user") or ""
        fingerprint = _fingerprint(kwargs.get("body"))
        with session() as sess:
            first = _claim(sess, owner, key, fingerprint)
            if first is not None:
                return _replay(first, fingerprint)
            result = function(*args, **kwargs)
            _store(sess, owner, key, result)
        return result

    return call
