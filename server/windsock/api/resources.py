"""Single resources: ETags and conditional requests, creation answers, partial updates."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from urllib.parse import quote

import flask
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from windsock.api.problems import (BadRequest, Conflict, NotAcceptable, NotFound,
                                   PreconditionFailed)
from windsock.db.engine import locked

Response = tuple[Any, int, dict[str, str]] | flask.Response
JSON = "application/json"


def ok(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer; the content type is explicit because error answers are problem+json."""
    return body, status, {"Content-Type": JSON, **(headers or {})}


def negotiate(media_types: Sequence[str], what: str) -> str:
    """The one of `media_types` the request's `Accept` prefers (the first without `Accept`);
    406 naming `what` when it allows none of them."""
    accept = flask.request.accept_mimetypes
    media_type = accept.best_match(media_types) if accept else media_types[0]
    if media_type is None:
        raise NotAcceptable(f"{what} is available as {' or '.join(media_types)}.")
    return media_type


def empty(status: int, headers: Mapping[str, str] | None = None) -> flask.Response:
    """An answer without a body (204, 304)."""
    response = flask.Response(status=status, headers=dict(headers or {}))
    del response.headers["Content-Type"]
    return response


def etag_of(body: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def single(body: Mapping[str, Any], status: int = 200) -> Response:
    """Answer a resource with its ETag, or 304 when `If-None-Match` still matches it."""
    etag = etag_of(body)
    if_none_match = flask.request.headers.get("If-None-Match")
    if if_none_match and (if_none_match.strip() == "*" or etag in _tags(if_none_match)):
        return empty(304, {"ETag": etag})
    return ok(dict(body), status, {"ETag": etag})


def updated(body: Mapping[str, Any]) -> Response:
    """Answer 200 with the changed resource and its new ETag."""
    return ok(dict(body), 200, {"ETag": etag_of(body)})


def created(body: Mapping[str, Any], location: str) -> Response:
    """Answer 201 with the new resource, its ETag and its Location."""
    return ok(dict(body), 201, {"ETag": etag_of(body), "Location": location})


def deleted() -> Response:
    return empty(204)


def check_if_match(current: Mapping[str, Any]) -> None:
    """Raise 412 when `If-Match` was sent and no longer matches the resource as it is now;
    the answer carries the current `ETag`, so a client can retry without reading it again."""
    if_match = flask.request.headers.get("If-Match")
    if if_match is None or if_match.strip() == "*":
        return
    etag = etag_of(current)
    if etag not in _tags(if_match):
        raise PreconditionFailed("The resource has changed since the ETag in If-Match was "
                                 "issued; read it again and retry.", headers={"ETag": etag})


def changes(body: Mapping[str, Any], update_mask: Iterable[str] | None,
            identity: tuple[str, str] | None = None) -> dict[str, Any]:
    """The fields a PATCH changes: those in `update_mask`, or every field in the body.

    `identity` is (field, value from the path): the body may repeat it but not change it.
    """
    if identity is not None:
        field, value = identity
        if field in body and body[field] != value:
            raise BadRequest(f"'{field}' in the body ({body[field]!r}) does not match the "
                             f"path ({value!r}); it cannot be changed.")
    if update_mask is None:
        return {k: v for k, v in body.items() if identity is None or k != identity[0]}
    missing = [name for name in update_mask if name not in body]
    if missing:
        raise BadRequest(f"update_mask names {', '.join(map(repr, missing))} but the body "
                         "does not contain them.")
    return {name: body[name] for name in update_mask}


def get_or_404(sess: Session, column: InstrumentedAttribute, value: str, label: str,
               *conditions: ColumnElement) -> Any:
    """The row whose `column` equals `value`, or 404 naming the missing `label`. A row that
    fails `conditions` (e.g. one the caller may not see) is missing too. In a request
    transaction the row stays locked until it ends, so it is compared and changed as read."""
    row = sess.scalar(locked(select(column.class_).where(column == value, *conditions)))
    if row is None:
        raise NotFound(f"{label} {value!r} does not exist.")
    return row


def flush_or_conflict(sess: Session, message: str) -> None:
    """Write pending changes now; a unique-constraint violation becomes 409 with `message`."""
    try:
        sess.flush()
    except IntegrityError:
        raise Conflict(message) from None


def location(*parts: str) -> str:
    """The URL of a resource below the requested collection path."""
    return "/".join([flask.request.path.rstrip("/"), *(quote(p, safe="") for p in parts)])
