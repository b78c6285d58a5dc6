"""Keyset (cursor) paging: opaque cursors that name where a page ends, and the SQL condition
that reads on from there.

A cursor holds the sort values of a page's first or last row (the list's sort keys, then its
primary key), the direction to read in, and a digest of the query it was issued for: its path,
filters and sort keys, everything but the page size and the fields shown. It is signed with the
server's key (`[api] secret_key`), so a cursor that was changed, made up, or issued for another
query is refused (400) before its values reach SQL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, tuple_

from windsock.api.problems import BadRequest
from windsock.security.keys import signing_key

Key = tuple[ColumnElement, bool]  # a sort key: the column, and whether it sorts descending
DIGEST_BYTES = 16


@dataclass(frozen=True)
class Position:
    """Where a cursor points: the sort values of a row, and whether to read the rows before it
    (a previous page) rather than after it."""

    values: list[Any]
    backward: bool


def nullable(column: ColumnElement) -> bool:
    return getattr(getattr(column, "expression", column), "nullable", True)


def _encode_value(value: Any) -> Any:
    return {"dt": value.isoformat()} if isinstance(value, datetime) else value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        return datetime.fromisoformat(value["dt"])
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise TypeError(value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: bytes) -> bytes:
    return hmac.new(signing_key().encode(), b"cursor\x00" + payload,
                    hashlib.sha256).digest()[:DIGEST_BYTES]


def query_digest(path: str, query: Mapping[str, Any]) -> str:
    """What a cursor is bound to: the list's path and the query that decides its rows and order."""
    text = json.dumps([path, query], sort_keys=True, default=str)
    return _b64(hashlib.sha256(text.encode()).digest()[:DIGEST_BYTES])


def encode(position: Position, digest: str) -> str:
    payload = json.dumps({"v": [_encode_value(v) for v in position.values],
                          "b": position.backward, "q": digest},
                         separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_signature(payload))}"


def decode(cursor: str, digest: str, width: int) -> Position:
    """The position in `cursor`; 400 unless this server issued it for the query of `digest`,
    with `width` sort values."""
    refused = BadRequest("'cursor' is not a cursor that this server issued for this list; "
                         "send the next_cursor or previous_cursor of an answer to the same "
                         "query (same path, filters and order_by).")
    try:
        encoded, signature = cursor.split(".")
        payload = _unb64(encoded)
        valid = hmac.compare_digest(_unb64(signature), _signature(payload))
    except (ValueError, binascii.Error):
        raise refused from None
    if not valid:
        raise refused
    body = json.loads(payload)
    if body["q"] != digest or len(body["v"]) != width:
        raise refused
    try:
        return Position([_decode_value(v) for v in body["v"]], bool(body["b"]))
    except (TypeError, ValueError, KeyError):
        raise refused from None


def reversed_keys(keys: Sequence[Key]) -> list[Key]:
    return [(column, not descending) for column, descending in keys]


def _beyond(column: ColumnElement, value: Any, descending: bool) -> ColumnElement:
    """Rows strictly after `value` in `column`'s order: ascending with NULLs last, or
    descending with NULLs first."""
    if value is None:
        return column.is_not(None) if descending else false()
    if descending:
        return column < value
    return or_(column > value, column.is_(None)) if nullable(column) else column > value


def after(keys: Sequence[Key], values: Sequence[Any]) -> ColumnElement:
    """Rows after the row with `values` in the order of `keys` (whose last keys are unique
    together). Keys of one direction without NULLs compare as one row value, which an index on
    them reads as a range; others expand to `k1 beyond, or k1 same and k2 beyond, ...`."""
    columns = [column for column, _ in keys]
    directions = {descending for _, descending in keys}
    if len(directions) == 1 and None not in values and not any(map(nullable, columns)):
        row, at = tuple_(*columns), tuple_(*values)
        return row < at if directions == {True} else row > at
    alternatives, same = [], []
    for (column, descending), value in zip(keys, values):
        alternatives.append(and_(*same, _beyond(column, value, descending)))
        same.append(column.is_(None) if value is None else column == value)
    return or_(*alternatives)
